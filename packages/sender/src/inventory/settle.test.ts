import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SourceFile } from './scan.js';
import { Settler } from './settle.js';

const NOW = 1_700_000_000_000;
const file = (relPath: string, mtimeMs: number, size = 10): SourceFile =>
  ({ relPath, absPath: `/src/${relPath}`, size, mtimeMs, mtimeNs: BigInt(mtimeMs) * 1_000_000n, mode: 0o644, ino: 1 });
const none = () => undefined;

test('a file quiet for --settle goes; one written to since is held back until it settles', () => {
  const settler = new Settler(2000);
  const out = settler.settled([file('old', NOW - 5000), file('fresh', NOW - 500), file('edge', NOW - 2000)], NOW, none);
  assert.deepEqual(out.map((f) => f.relPath), ['old', 'edge']);
  assert.equal(settler.settlingUntil, NOW - 500 + 2000, 'the next look is when the fresh file will have settled');
  assert.deepEqual(settler.settled([file('fresh', NOW - 500)], NOW + 1500, none).map((f) => f.relPath), ['fresh']);
  assert.equal(settler.settlingUntil, undefined);
});

test('a file being written keeps the version it is being sent as until it settles', () => {
  const settler = new Settler(2000);
  const sent = file('log', NOW - 60_000, 100);
  const out = settler.settled([file('log', NOW - 100, 150)], NOW, (p) => (p === 'log' ? sent : undefined));
  assert.equal(out.length, 1);
  assert.equal(out[0], sent);
});

test('with --settle 0 every file goes at once', () => {
  const settler = new Settler(0);
  assert.equal(settler.settled([file('a', NOW)], NOW, none).length, 1);
  assert.equal(settler.settlingUntil, undefined);
});

test('a file with a future mtime (a skewed clock) goes once a scan finds it unchanged', () => {
  const settler = new Settler(2000);
  const future = NOW + 3_600_000;
  assert.deepEqual(settler.settled([file('skewed', future)], NOW, none), []);
  assert.equal(settler.settlingUntil, NOW + 2000, 'looked at again after --settle, not an hour later');
  assert.deepEqual(settler.settled([file('skewed', future)], NOW + 2000, none).map((f) => f.relPath), ['skewed']);
  // Changed in between: still being written.
  assert.deepEqual(settler.settled([file('skewed', future, 20)], NOW + 4000, none), []);
});
