import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Manifest, ManifestFile } from '@diodesync/protocol';
import { DestTree } from './dest-tree.js';
import { SyncTracker } from './sync-tracker.js';

const MTIME_MS = 1_700_000_000_000;

function file(p: string, content: string): ManifestFile {
  return { path: p, size: Buffer.byteLength(content), mtimeMs: MTIME_MS, sha256: createHash('sha256').update(content).digest() };
}

function manifest(files: ManifestFile[], dirs: string[] = []): Manifest {
  return { createdAt: MTIME_MS, pass: 1, passes: 1, files, dirs };
}

async function setUp(t: import('node:test').TestContext) {
  const root = await mkdtemp(path.join(tmpdir(), 'diodesync-sync-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const tree = new DestTree(root);
  /** Puts a file in the mirror with the manifest's mtime. */
  const put = async (p: string, content: string) => {
    await mkdir(path.dirname(path.join(root, p)), { recursive: true });
    await writeFile(path.join(root, p), content);
    await utimes(path.join(root, p), MTIME_MS / 1000, MTIME_MS / 1000);
  };
  return { root, tree, put };
}

test('a manifest sorts the mirror into in place, missing, outdated and unexpected; placements tick files off until synced', async (t) => {
  const { root, tree, put } = await setUp(t);
  const sync = new SyncTracker(tree);
  assert.ok(!sync.synced, 'no manifest yet: not synced');
  assert.equal((await sync.report()).manifestCreatedAt, null);
  await put('a.txt', 'a');
  await put('c.txt', 'old c');
  await put('extra.txt', 'x');
  const [a, b, c] = [file('a.txt', 'a'), file('d/b.txt', 'b'), file('c.txt', 'new c')];
  await sync.applyManifest(manifest([a, b, c], ['d', 'empty/dir']));
  assert.ok((await stat(path.join(root, 'empty/dir'))).isDirectory(), 'directories of the manifest are made');
  assert.equal(sync.pendingCount, 2);
  assert.ok(!sync.synced);
  assert.ok(sync.holds({ ...a, kind: 'file', mode: 0o644, chunkSize: 1, chunkCount: 1, version: 0, fecK: 0, fecM: 0 }), 'a was hashed once and is known');
  sync.noteProblem('d/b.txt', 'write failed: ENOSPC');
  let report = await sync.report();
  assert.deepEqual(report.missing.map((m) => [m.path, m.reason]), [['d/b.txt', 'write failed: ENOSPC']]);
  assert.deepEqual(report.outdated.map((m) => m.path), ['c.txt']);
  assert.deepEqual(report.unexpected, ['extra.txt']);
  assert.equal(report.missing[0]!.sha256, b.sha256.toString('hex'));

  await put('d/b.txt', 'b');
  sync.placed(b.path, b.size, b.mtimeMs, b.sha256);
  await put('c.txt', 'new c');
  sync.placed(c.path, c.size, c.mtimeMs, c.sha256);
  assert.ok(sync.synced);
  report = await sync.report();
  assert.deepEqual([report.missing, report.outdated], [[], []], 'a placement clears the reason noted before');
});

test('a file removed from the mirror is found at the next manifest, and the receiver is told to take it again', async (t) => {
  const { root, tree, put } = await setUp(t);
  const sync = new SyncTracker(tree);
  const lost: string[] = [];
  sync.onLost = (p) => void lost.push(p);
  const a = file('a.txt', 'a');
  await put('a.txt', 'a');
  sync.placed(a.path, a.size, a.mtimeMs, a.sha256);
  await sync.applyManifest(manifest([a]));
  assert.ok(sync.synced);
  await rm(path.join(root, 'a.txt'));
  await sync.applyManifest(manifest([a]));
  assert.deepEqual(lost, ['a.txt']);
  assert.equal(sync.pendingCount, 1);
  // A rename or copy by a change announcement puts it back: ticked off once it matches.
  await put('a.txt', 'a');
  sync.placedByChange('a.txt');
  await sync.settle();
  for (let i = 0; i < 50 && !sync.synced; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(sync.synced);
});

test('names the mirror will not hold are missing with their reason; only then does nothing missing remain to wait for', async (t) => {
  const { tree, put } = await setUp(t);
  const sync = new SyncTracker(tree, true);
  await put('ok.txt', 'ok');
  const ok = file('ok.txt', 'ok');
  const [unsafe, unportable] = [file('../escape', 'e'), file('aux.txt', 'w')];
  await sync.applyManifest(manifest([ok, unsafe, unportable]));
  assert.equal(sync.pendingCount, 2);
  assert.ok(sync.onlyRefusedLeft, 'every file still missing is refused for its name');
  const report = await sync.report();
  assert.deepEqual(report.missing.map((m) => m.reason), ['bad path: dot segment', 'not portable: name Windows reserves (CON, PRN, AUX, NUL, COM1-9, LPT1-9)']);
  await sync.applyManifest(manifest([ok, unsafe, file('later.txt', 'l')]));
  assert.ok(!sync.onlyRefusedLeft, 'a file that can still arrive is worth waiting for');
});
