import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SourceFile } from './scan.js';
import { Settler } from './settle.js';

const NOW = 1_700_000_000_000;
const file = (relPath: string, mtimeMs: number, size = 10): SourceFile =>
  ({ relPath, absPath: `/src/${relPath}`, size, mtimeMs, mtimeNs: BigInt(mtimeMs) * 1_000_000n, mode: 0o644, ino: 1 });

test('a file quiet for --settle goes; one written to since is held back until it settles', () => {
  const settler = new Settler(2000);
  const out = [file('old', NOW - 5000), file('fresh', NOW - 500), file('edge', NOW - 2000)].filter((f) => settler.isSettled(f, NOW));
  assert.deepEqual(out.map((f) => f.relPath), ['old', 'edge']);
  assert.equal(settler.settlingUntil, NOW - 500 + 2000, 'the next look is when the fresh file will have settled');
  assert.deepEqual(settler.dueAt(NOW), []);
  assert.deepEqual(settler.dueAt(NOW + 1500), ['fresh'], 'looked at again alone, without a walk');
  assert.equal(settler.isSettled(file('fresh', NOW - 500), NOW + 1500), true);
  assert.equal(settler.settlingUntil, undefined, 'only files not yet settled are remembered');
});

test('a file deleted while settling is forgotten', () => {
  const settler = new Settler(2000);
  assert.equal(settler.isSettled(file('log', NOW - 100, 150), NOW), false);
  settler.forget('log');
  assert.equal(settler.settlingUntil, undefined);
});

test('with --settle 0 every file goes at once', () => {
  const settler = new Settler(0);
  assert.equal(settler.isSettled(file('a', NOW), NOW), true);
  assert.equal(settler.settlingUntil, undefined);
});

test('a file with a future mtime (a skewed clock) goes once a look finds it unchanged', () => {
  const settler = new Settler(2000);
  const future = NOW + 3_600_000;
  assert.equal(settler.isSettled(file('skewed', future), NOW), false);
  assert.equal(settler.settlingUntil, NOW + 2000, 'looked at again after --settle, not an hour later');
  assert.equal(settler.isSettled(file('skewed', future), NOW + 2000), true);
  // Changed in between: still being written.
  assert.equal(settler.isSettled(file('skewed', future, 20), NOW + 4000), false);
});
