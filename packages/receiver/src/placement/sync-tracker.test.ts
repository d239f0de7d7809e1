import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Manifest, ManifestFile } from '@diodesync/protocol';
import { DestTree } from './dest-tree.js';
import { MirrorIndex } from './mirror-index.js';
import { SyncTracker } from './sync-tracker.js';
import { reportOf } from './report.test-support.js';

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
  assert.equal((await reportOf(sync)).manifestCreatedAt, null);
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
  let report = await reportOf(sync);
  assert.deepEqual(report.missing.map((m) => [m.path, m.reason]), [['d/b.txt', 'write failed: ENOSPC']]);
  assert.deepEqual(report.outdated.map((m) => m.path), ['c.txt']);
  assert.deepEqual(report.unexpected, ['extra.txt']);
  assert.equal(report.missing[0]!.sha256, b.sha256.toString('hex'));

  await put('d/b.txt', 'b');
  sync.placed(b.path, b.size, b.mtimeMs, b.sha256);
  await put('c.txt', 'new c');
  sync.placed(c.path, c.size, c.mtimeMs, c.sha256);
  assert.ok(sync.synced);
  report = await reportOf(sync);
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
  const report = await reportOf(sync);
  assert.deepEqual(report.missing.map((m) => m.reason), ['bad path: dot segment', 'not portable: name Windows reserves (CON, PRN, AUX, NUL, COM1-9, LPT1-9)']);
  await sync.applyManifest(manifest([ok, unsafe, file('later.txt', 'l')]));
  assert.ok(!sync.onlyRefusedLeft, 'a file that can still arrive is worth waiting for');
});

function piece(cycle: number, index: number, files: ManifestFile[], range: { from?: string; to?: string }, last = false): Manifest {
  return { createdAt: MTIME_MS + cycle, pass: cycle, passes: 1, files, dirs: [], scope: { kind: 'piece', cycle, index, count: last ? index + 1 : 0, ...range } };
}

function delta(seq: number, files: ManifestFile[], removed: string[] = []): Manifest {
  return { createdAt: MTIME_MS, pass: 1, passes: 1, files, dirs: [], scope: { kind: 'delta', seq, removed } };
}

test('a lost piece: the other ranges are still learnt and reported; synced once the next cycle brings the lost range', async (t) => {
  const { tree, put } = await setUp(t);
  const sync = new SyncTracker(tree);
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((p) => file(p, p)) as [ManifestFile, ManifestFile, ManifestFile, ManifestFile];
  await put('a', 'a');
  // Cycle 1: pieces (-, b] and (c, -] arrive; (b, c] is lost.
  await sync.applyManifest(piece(1, 0, [a, b], { to: 'b' }));
  await sync.applyManifest(piece(1, 2, [d], { from: 'c' }, true));
  assert.equal(sync.pendingCount, 2, 'b and d are known missing');
  assert.ok(!sync.synced, 'the cycle is not complete');
  await put('b', 'b');
  sync.placed(b.path, b.size, b.mtimeMs, b.sha256);
  await put('d', 'd');
  sync.placed(d.path, d.size, d.mtimeMs, d.sha256);
  assert.equal(sync.pendingCount, 0);
  assert.ok(!sync.synced, 'nothing pending, yet the range (b, c] is unknown');
  let report = await reportOf(sync);
  assert.equal(report.manifestFiles, 3);
  // Cycle 2 (other boundaries): its pieces chain from start to end, and bring c.
  await sync.applyManifest(piece(2, 0, [a, b, c], { to: 'c' }));
  assert.equal(sync.pendingCount, 1);
  await sync.applyManifest(piece(2, 1, [d], { from: 'c' }, true));
  assert.ok(!sync.synced, 'c is still missing');
  report = await reportOf(sync);
  assert.deepEqual(report.missing.map((m) => m.path), ['c']);
  await put('c', 'c');
  sync.placed(c.path, c.size, c.mtimeMs, c.sha256);
  assert.ok(sync.synced);
});

test('a receiver that starts in the middle of a cycle knows the whole tree one cycle later: the rest of that cycle and the start of the next', async (t) => {
  const { tree, put } = await setUp(t);
  const sync = new SyncTracker(tree);
  const [a, b, c] = ['a', 'b', 'c'].map((p) => file(p, p)) as [ManifestFile, ManifestFile, ManifestFile];
  // Started after piece 0 of cycle 4: pieces 1 and 2 of it, then piece 0 of cycle 5.
  await sync.applyManifest(piece(4, 1, [b], { from: 'a', to: 'b' }));
  await sync.applyManifest(piece(4, 2, [c], { from: 'b' }, true));
  assert.deepEqual((await reportOf(sync)).missing.map((m) => m.path), ['b', 'c'], 'what it has seen is reported at once');
  assert.equal((await reportOf(sync)).manifestFiles, 2);
  await sync.applyManifest(piece(5, 0, [a], { to: 'a' }));
  const report = await reportOf(sync);
  assert.deepEqual(report.missing.map((m) => m.path), ['a', 'b', 'c'], 'every file is known missing');
  assert.deepEqual(report.unexpected, []);
  assert.ok(!sync.synced, 'nothing is in the mirror');
  assert.ok(!sync.onlyRefusedLeft);
  for (const f of [a, b, c]) {
    await put(f.path, f.path);
    sync.placed(f.path, f.size, f.mtimeMs, f.sha256);
  }
  assert.ok(sync.synced, 'the pieces seen cover the whole tree, and all of it is in place');
});

test('a piece replaces its range: files it does not list are no longer wanted, mirror files there are unexpected, others are left alone', async (t) => {
  const { tree, put } = await setUp(t);
  const sync = new SyncTracker(tree);
  const [a, m, z] = [file('a', 'a'), file('m', 'm'), file('z', 'z')];
  await sync.applyManifest(piece(1, 0, [a, m], { to: 'm' }));
  assert.equal(sync.pendingCount, 2);
  await put('b-extra', 'x');
  await put('y-outside', 'x');
  // The same range again, without m: m is no longer wanted.
  await sync.applyManifest(piece(2, 0, [a], { to: 'm' }));
  assert.equal(sync.pendingCount, 1);
  const report = await reportOf(sync);
  assert.deepEqual(report.missing.map((e) => e.path), ['a']);
  assert.deepEqual(report.unexpected, ['b-extra'], 'a file beyond every range received is not called unexpected');
  await sync.applyManifest(piece(2, 1, [z], { from: 'm' }, true));
  assert.deepEqual((await reportOf(sync)).unexpected, ['b-extra', 'y-outside'], 'the whole tree is known now');
});

test('a delta after the pieces adds and removes files; a missed delta number is harmless', async (t) => {
  const { tree, put } = await setUp(t);
  const sync = new SyncTracker(tree);
  const [a, b, c] = [file('a', 'a'), file('b', 'b'), file('c', 'c')];
  await put('a', 'a');
  await sync.applyManifest(piece(1, 0, [a], {}, true));
  assert.ok(sync.synced);
  await sync.applyManifest(delta(1, [b]));
  assert.ok(!sync.synced, 'the delta says b is wanted');
  assert.deepEqual((await reportOf(sync)).missing.map((e) => e.path), ['b']);
  // Delta 2 is lost; delta 3 removes b and announces c.
  await sync.applyManifest(delta(3, [c], ['b']));
  assert.deepEqual((await reportOf(sync)).missing.map((e) => e.path), ['c']);
  await put('c', 'c');
  sync.placed(c.path, c.size, c.mtimeMs, c.sha256);
  assert.ok(sync.synced);
  assert.equal((await reportOf(sync)).manifestFiles, 2);
});

test('the index on disk outlives the receiver: a restart with an empty mirror reports every file missing after one cycle', async (t) => {
  const { root, tree, put } = await setUp(t);
  const indexFile = path.join(root, '..', `${path.basename(root)}.sqlite`);
  t.after(() => rm(indexFile, { force: true }));
  const files = ['a', 'b', 'c'].map((p) => file(p, p));
  let sync = new SyncTracker(tree, false, new MirrorIndex(indexFile));
  for (const f of files) {
    await put(f.path, f.path);
    sync.placed(f.path, f.size, f.mtimeMs, f.sha256);
  }
  await sync.applyManifest(piece(1, 0, files, {}, true));
  assert.ok(sync.synced);
  sync.index.close();
  for (const f of files) await rm(path.join(root, f.path));
  sync = new SyncTracker(tree, false, new MirrorIndex(indexFile));
  assert.ok(!sync.synced, 'a restart knows no complete cycle yet');
  assert.ok(!sync.holds({ ...files[0]!, kind: 'file', mode: 0o644, chunkSize: 1, chunkCount: 1, version: 0, fecK: 0, fecM: 0 }), 'an earlier run\'s verification is not trusted without a look');
  await sync.applyManifest(piece(2, 0, files, {}, true));
  assert.deepEqual((await reportOf(sync)).missing.map((e) => e.path), ['a', 'b', 'c']);
  assert.ok(!sync.holds({ ...files[0]!, kind: 'file', mode: 0o644, chunkSize: 1, chunkCount: 1, version: 0, fecK: 0, fecM: 0 }), 'what was verified before no longer holds');
  sync.index.close();
});
