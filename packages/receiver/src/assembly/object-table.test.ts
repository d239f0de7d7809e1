import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HashedHeader, ObjectHeader } from '@diodesync/protocol';
import { MAX_COMPLETED, MAX_WIRE_IDS, ObjectTable, contentId } from './object-table.js';

const version = (path: string, size: number, kind: ObjectHeader['kind'] = 'file'): HashedHeader => ({
  kind, path, size, mtimeMs: 0, mode: 0o644, sha256: Buffer.alloc(32, size), chunkSize: 1024, chunkCount: 1, version: 0, fecK: 0, fecM: 0,
});

test('the wire-id table keeps the most recently announced ids and forgets the oldest', () => {
  const table = new ObjectTable();
  for (let i = 0; i < MAX_WIRE_IDS; i++) table.remember(`1:${i}`, `c${i}`);
  table.remember('1:0', 'c0'); // announced again: now the most recent
  table.remember('2:0', 'new'); // one more than the table holds: the oldest (1:1) goes
  assert.equal(table.idOf('1:1'), undefined);
  assert.equal(table.idOf('1:0'), 'c0');
  assert.equal(table.idOf('2:0'), 'new');
  assert.equal(table.idOf(`1:${MAX_WIRE_IDS - 1}`), `c${MAX_WIRE_IDS - 1}`);
});

test('completed objects: one version per path, a newer one supersedes the older, a lost file is taken again', () => {
  const table = new ObjectTable();
  const v1 = version('a', 1);
  const v2 = version('a', 2);
  const [id1, id2] = [contentId(v1), contentId(v2)];
  assert.notEqual(id1, id2);
  table.markCompleted(id1, v1);
  assert.ok(table.isCompleted(id1) && table.knows(id1));
  table.markCompleted(id2, v2);
  assert.ok(!table.isCompleted(id1), 'the older version of the path is forgotten');
  assert.ok(table.isCompleted(id2));
  table.forgetCompleted('a');
  assert.ok(!table.isCompleted(id2) && !table.knows(id2));
  const manifest = version('', 10, 'manifest');
  table.markCompleted(contentId(manifest), manifest);
  table.forgetCompleted('');
  assert.ok(table.isCompleted(contentId(manifest)), 'a manifest is no path of the mirror');
});

test('a completed path is remembered exactly, whatever its UTF-16 units (a lone surrogate, a NUL, a long name)', () => {
  const table = new ObjectTable();
  for (const path of ['d/\ud800x', 'a\u0000b', `${'é'.repeat(100)}/${'\udfff'.repeat(3)}`]) {
    const v = version(path, 3);
    table.markCompleted(contentId(v), v);
    table.forgetCompleted(path);
    assert.ok(!table.isCompleted(contentId(v)), `${JSON.stringify(path)} forgotten by its own name`);
  }
});

test('the content id is 32 hex digits (128 bits of SHA-256)', () => {
  assert.match(contentId(version('a', 1)), /^[0-9a-f]{32}$/);
});

test('the content id names the content, whatever wire id brought it', () => {
  assert.equal(contentId(version('a', 1)), contentId({ ...version('a', 1), version: 7, fecK: 20, fecM: 4 }));
  assert.notEqual(contentId(version('a', 1)), contentId(version('b', 1)));
  assert.notEqual(contentId(version('a', 1)), contentId({ ...version('a', 1), chunkSize: 2048 }));
});

test('completed objects are bounded: the least recently completed go first', () => {
  const table = new ObjectTable();
  const versions = Array.from({ length: MAX_COMPLETED + 1 }, (_, i) => version(`f${i}`, 1));
  for (const v of versions) table.markCompleted(contentId(v), v);
  assert.ok(!table.isCompleted(contentId(versions[0]!)), 'the oldest is forgotten');
  assert.ok(table.isCompleted(contentId(versions[1]!)) && table.isCompleted(contentId(versions[MAX_COMPLETED]!)));
});
