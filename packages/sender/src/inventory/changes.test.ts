import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectChanges, type KnownVersion } from './changes.js';
import type { SourceFile } from './scan.js';

interface V extends KnownVersion {
  name: string;
}

const HASH = Buffer.alloc(32, 1);
function version(relPath: string, ino: number, { everSent = true, hashed = true, size = 10, mtimeMs = 1000 } = {}): V {
  const file: SourceFile = { relPath, absPath: `/src/${relPath}`, size, mtimeMs, mtimeNs: BigInt(mtimeMs) * 1_000_000n, mode: 0o644, ino };
  return { name: relPath, file, everSent, sha256: hashed ? HASH : undefined };
}
const byPath = (...versions: V[]) => new Map(versions.map((v) => [v.file.relPath, v]));

test('a path that left the tree after it was sent is a delete; one never sent (or never hashed) is nothing', () => {
  const before = byPath(version('a', 1), version('b', 2, { everSent: false }), version('c', 3, { hashed: false }), version('d', 4));
  const changes = detectChanges(before, byPath(version('d', 4)));
  assert.deepEqual(changes.map((c) => c.change), [{ op: 'delete', path: 'a', to: '', sha256: HASH }]);
  assert.equal(changes[0]!.from.name, 'a');
  assert.equal(changes[0]!.to, undefined);
});

test('the same inode, size and mtime under a new, unsent path is a rename that names both versions', () => {
  const old = version('dir/old', 7);
  const moved = version('dir/new', 7, { everSent: false, hashed: false });
  const [change, ...rest] = detectChanges(byPath(old), byPath(moved));
  assert.deepEqual(rest, []);
  assert.deepEqual(change!.change, { op: 'rename', path: 'dir/old', to: 'dir/new', sha256: HASH });
  assert.equal(change!.from, old);
  assert.equal(change!.to, moved);
});

test('not a rename: other size or mtime (the content may differ), a path already sent, a path that was there before', () => {
  const cases: [string, V, Map<string, V>][] = [
    ['size', version('a', 1), byPath(version('b', 1, { everSent: false, size: 11 }))],
    ['mtime', version('a', 1), byPath(version('b', 1, { everSent: false, mtimeMs: 2000 }))],
    ['sent', version('a', 1), byPath(version('b', 1))],
  ];
  for (const [why, old, after] of cases) {
    assert.deepEqual(detectChanges(byPath(old), after).map((c) => c.change.op), ['delete'], why);
  }
  // 'b' existed before: its inode now matching a vanished path does not make it a rename target.
  const before = byPath(version('a', 1), version('b', 2, { everSent: false }));
  const after = byPath(version('b', 1, { everSent: false }));
  assert.deepEqual(detectChanges(before, after).map((c) => c.change.op), ['delete']);
});

test('each new path takes over at most one old one; changes come in the order of the earlier scan', () => {
  const before = byPath(version('a', 5), version('b', 5), version('c', 9));
  const after = byPath(version('x', 5, { everSent: false }));
  assert.deepEqual(detectChanges(before, after).map((c) => [c.change.op, c.change.path, c.change.to]), [
    ['rename', 'a', 'x'],
    ['delete', 'b', ''],
    ['delete', 'c', ''],
  ]);
  assert.deepEqual(detectChanges(before, before), [], 'nothing left: nothing to say');
});
