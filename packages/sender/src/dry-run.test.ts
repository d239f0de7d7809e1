import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SourceFile } from './inventory/scan.js';
import type { LedgerVersion } from './ledger/store.js';
import { DryRunTally, reasonFor } from './dry-run.js';

const file: SourceFile = { relPath: 'a', absPath: '/a', size: 10, mtimeMs: 1000, mtimeNs: 1_000_000_000n, mode: 0o100644, ino: 7 };
const row = (over: Partial<LedgerVersion>): LedgerVersion => ({
  id: 1, path: 'a', size: 10, mtimeMs: 1000, ino: 7, mode: 0o100644, sha256: null, firstSeen: 0, sends: 2, totalSends: 2,
  firstSentAt: 1, lastSentAt: 2, status: 'sent', ...over,
});

test('dry run: the reason each file would be sent, as a run would decide it', () => {
  assert.equal(reasonFor(file, undefined, 2, true), 'new');
  assert.equal(reasonFor(file, row({ size: 11 }), 2, true), 'changed');
  assert.equal(reasonFor(file, row({ mtimeMs: 999 }), 2, true), 'changed');
  assert.equal(reasonFor(file, row({ status: 'reset', sends: 0 }), 2, true), 'reset');
  assert.equal(reasonFor(file, row({ status: 'failed', sends: 0 }), 2, true), 'retry');
  assert.equal(reasonFor(file, row({ status: 'partial', sends: 1 }), 2, true), 'unfinished');
  assert.equal(reasonFor(file, row({}), 2, true), undefined, 'sent R times, --resume: not sent');
  assert.equal(reasonFor(file, row({}), 3, true), 'unfinished', 'a higher R makes it due again');
  assert.equal(reasonFor(file, row({}), 2, false), 'again', 'without --resume every version goes R more times');
});

test('dry run: one line per file (reason, size, path) and the totals', () => {
  const lines: string[] = [];
  const tally = new DryRunTally((l) => lines.push(l));
  tally.add({ path: 'x/y', size: 2048, reason: 'new' });
  assert.equal(lines.length, 1, 'a line as soon as the file is found');
  tally.add({ path: 'z', size: 1, reason: 'reset' });
  tally.upToDate = 4;
  tally.skipped = 1;
  tally.end(2);
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^new +2048 {2}x\/y$/);
  assert.equal(lines[2], 'would send 2 file(s), 2.0 KiB (2049 bytes), 2 time(s) each: new 1, reset 1; 4 up to date, 1 skipped; dry run: nothing sent, ledger unchanged');
});
