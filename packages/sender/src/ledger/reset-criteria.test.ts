import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { LedgerVersion } from './store.js';
import { CriteriaError, parseDateTime, resetSelection } from './reset-criteria.js';

const version = (p: string, firstSentAt: number | null, lastSentAt: number | null): LedgerVersion => ({
  id: 1, path: p, size: 1, mtimeMs: 0, ino: 1, mode: 0o644, sha256: null, firstSeen: 0, sends: 1, totalSends: 1,
  firstSentAt, lastSentAt, status: 'sent',
});

test('date-times: ISO 8601 with or without a zone (local time if none); anything else is refused', () => {
  assert.equal(parseDateTime('2026-11-17T10:00Z'), Date.UTC(2026, 10, 17, 10, 0));
  assert.equal(parseDateTime('2026-11-17 10:00:05.25+01:00'), Date.UTC(2026, 10, 17, 9, 0, 5, 250));
  assert.equal(parseDateTime('2026-11-17T10:00:00-0230'), Date.UTC(2026, 10, 17, 12, 30));
  assert.equal(parseDateTime('2026-11-17T10:00'), new Date(2026, 10, 17, 10, 0).getTime());
  assert.equal(parseDateTime('2026-11-17'), new Date(2026, 10, 17).getTime());
  assert.equal(parseDateTime(new Date(1_763_000_000_123).toISOString()), 1_763_000_000_123);
  for (const bad of ['yesterday', '17/11/2026', '2026-11-17T10', '2026-13-01', '2026-02-30', '2026-11-17T25:00', '2026-11-17Z', '1763000000', '']) {
    assert.throws(() => parseDateTime(bad, '--since'), CriteriaError, bad);
  }
});

test('criteria combine: every one given must match', () => {
  const t0 = Date.UTC(2026, 0, 1);
  const versions = [
    version('logs/a.log', t0 - 10, t0 - 5), // sent before the window
    version('logs/b.log', t0 - 10, t0 + 5), // last send inside
    version('data/c.bin', t0 + 10, t0 + 20), // inside
    version('data/deep/d.bin', t0 + 100, t0 + 200), // after --until
    version('.hidden/e', null, null), // never sent
  ];
  const pick = (o: Parameters<typeof resetSelection>[0]) => versions.filter(resetSelection(o).select).map((v) => v.path);
  const iso = (ms: number) => new Date(ms).toISOString();
  assert.deepEqual(pick({ since: iso(t0) }), ['logs/b.log', 'data/c.bin', 'data/deep/d.bin']);
  assert.deepEqual(pick({ since: iso(t0), until: iso(t0 + 50) }), ['logs/b.log', 'data/c.bin']);
  assert.deepEqual(pick({ path: 'data/*' }), ['data/c.bin']);
  assert.deepEqual(pick({ path: 'data/**' }), ['data/c.bin', 'data/deep/d.bin']);
  assert.deepEqual(pick({ path: '**/e' }), ['.hidden/e']);
  assert.deepEqual(pick({ regex: '\\.log$', since: iso(t0) }), ['logs/b.log']);
  assert.deepEqual(pick({ all: true }).length, 5);
  assert.throws(() => resetSelection({}), /say what to reset/);
  assert.throws(() => resetSelection({ all: true, path: '*' }), /--all cannot/);
  assert.throws(() => resetSelection({ regex: '[' }), /--regex/);
});

test('--from-report takes the missing and outdated paths of a receiver report', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'diodesync-report-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const report = path.join(dir, 'report.json');
  const entry = (p: string) => ({ path: p, size: 1, sha256: '00', mtime: '2026-01-01T00:00:00.000Z' });
  writeFileSync(report, JSON.stringify({ missing: [entry('a'), entry('b/c')], outdated: [entry('d')], unexpected: ['z'] }));
  const { select, reportPaths } = resetSelection({ fromReport: report });
  assert.deepEqual([...reportPaths!].sort(), ['a', 'b/c', 'd']);
  assert.deepEqual(['a', 'b/c', 'd', 'z'].filter((p) => select(version(p, 1, 1))), ['a', 'b/c', 'd']);
  writeFileSync(report, '{"synced": true}');
  assert.throws(() => resetSelection({ fromReport: report }), /not a diode-receive report/);
  writeFileSync(report, '{');
  assert.throws(() => resetSelection({ fromReport: report }), /cannot read/);
  assert.throws(() => resetSelection({ fromReport: path.join(dir, 'none.json') }), /no such file/);
});
