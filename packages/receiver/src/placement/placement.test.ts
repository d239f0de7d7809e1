import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ProtocolError, decodeManifest, encodeManifest, type HashedHeader } from '@diodesync/protocol';
import { newCounters } from '../counters.js';
import { DestTree } from './dest-tree.js';
import { Placement, type CompleteObject } from './placement.js';
import { SyncTracker } from './sync-tracker.js';
import { reportOf } from './report.test-support.js';

const MTIME_MS = 1_600_000_000_000;

async function setUp(t: import('node:test').TestContext) {
  const root = await mkdtemp(path.join(tmpdir(), 'diodesync-placement-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const mirror = path.join(root, 'mirror');
  await mkdir(mirror);
  const tree = new DestTree(mirror);
  const sync = new SyncTracker(tree);
  const counters = newCounters();
  const placement = new Placement(counters, tree, sync);
  await placement.start();
  let temps = 0;
  /** A complete object whose temp file holds `content`; `finish` hashes it as PartialObject does. */
  const object = async (header: Partial<HashedHeader>, content: string | Buffer, announced = content): Promise<CompleteObject & { header: HashedHeader }> => {
    const tempPath = path.join(root, `${++temps}.part`);
    await writeFile(tempPath, content);
    const full: HashedHeader = {
      kind: 'file', path: 'f.txt', size: Buffer.byteLength(announced), mtimeMs: MTIME_MS, mode: 0o4755, sha256: createHash('sha256').update(announced).digest(),
      chunkSize: 1024, chunkCount: 1, version: 0, fecK: 0, fecM: 0, ...header,
    };
    return { header: full, tempPath, finish: async () => createHash('sha256').update(await readFile(tempPath)).digest() };
  };
  return { mirror, sync, counters, placement, object };
}

test('a verified file is placed with its mtime and mode (never setuid); recorded, it ticks the manifest off', async (t) => {
  const { mirror, sync, counters, placement, object } = await setUp(t);
  const obj = await object({}, 'hello');
  assert.deepEqual(await placement.verify(obj), { kind: 'placed' });
  assert.equal(await readFile(path.join(mirror, 'f.txt'), 'utf8'), 'hello');
  const st = await stat(path.join(mirror, 'f.txt'));
  assert.equal(st.mtimeMs, MTIME_MS);
  assert.equal(st.mode & 0o7777, 0o755);
  assert.equal(placement.filesInMirror, 1);
  placement.record(obj.header);
  assert.equal(counters.filesCompleted, 1);
  assert.ok(placement.holds(obj.header));
  await sync.applyManifest({ createdAt: 0, pass: 1, passes: 1, files: [{ ...obj.header }], dirs: [] });
  assert.ok(sync.synced);
});

test('a version the mirror already holds is left in place, its file untouched', async (t) => {
  const { mirror, placement, object } = await setUp(t);
  await writeFile(path.join(mirror, 'f.txt'), 'same');
  await utimes(path.join(mirror, 'f.txt'), MTIME_MS / 1000, MTIME_MS / 1000);
  await placement.start(); // counts the mirror's files
  const before = await stat(path.join(mirror, 'f.txt'));
  const obj = await object({}, 'same');
  assert.ok(await placement.inPlace(obj.header));
  assert.deepEqual(await placement.verify(obj), { kind: 'in-place' });
  assert.equal((await stat(path.join(mirror, 'f.txt'))).ino, before.ino);
  assert.equal(placement.filesInMirror, 1, 'counted at start, not again');
});

test('a temp file that does not hash to the announced SHA-256 is spoilt, and reported; nothing reaches the mirror', async (t) => {
  const { mirror, sync, counters, placement, object } = await setUp(t);
  const obj = await object({}, 'forged', 'honest');
  assert.deepEqual(await placement.verify(obj), { kind: 'spoilt' });
  assert.equal(counters.verifyFailed, 1);
  await assert.rejects(stat(path.join(mirror, 'f.txt')));
  await sync.applyManifest({ createdAt: 0, pass: 1, passes: 1, files: [{ ...obj.header }], dirs: [] });
  assert.match((await reportOf(sync)).missing[0]!.reason!, /^verify failed: SHA-256 differs/);
});

test('a write that failed before verification keeps the partial: unwritten', async (t) => {
  const { counters, placement, object } = await setUp(t);
  const obj = await object({}, 'x');
  assert.deepEqual(await placement.verify({ ...obj, finish: async () => undefined }), { kind: 'unwritten' });
  assert.equal(counters.verifyFailed + counters.writeErrors, 0, 'the partial logged and counted its own failure');
});

test('a manifest waits on disk, not placed, and is decoded when applied; one that does not decode is a bad message; a failed rename is a write error', async (t) => {
  const { mirror, sync, counters, placement, object } = await setUp(t);
  const manifest = { createdAt: 5, pass: 1, passes: 2, files: [], dirs: ['d'] };
  const verdict = await placement.verify(await object({ kind: 'manifest', path: '' }, encodeManifest(manifest)));
  assert.ok(verdict.kind === 'manifest', 'a verified manifest');
  assert.deepEqual(decodeManifest(await readFile(verdict.file)), { ...manifest, scope: { kind: 'piece', cycle: 1, index: 0, count: 1 } }, 'kept on disk as it came');
  const bad = await placement.verify(await object({ kind: 'manifest', path: '' }, 'not msgpack'));
  assert.ok(bad.kind === 'manifest');
  await assert.rejects(placement.applyManifest(bad.file), ProtocolError);
  placement.failed({ kind: 'manifest', path: '' } as HashedHeader, new ProtocolError('bad'));
  assert.equal(counters.badMessage, 1);
  await assert.rejects(stat(bad.file), { code: 'ENOENT' }, 'removed once read');
  await mkdir(path.join(mirror, 'f.txt')); // a directory where the file goes
  assert.deepEqual(await placement.verify(await object({}, 'file')), { kind: 'failed' });
  assert.equal(counters.writeErrors, 1);
  // An older sender's whole manifest is the one piece of its cycle, covering everything.
  await placement.applyManifest(verdict.file);
  assert.equal(counters.manifests, 2);
  assert.equal((await reportOf(sync)).manifestCreatedAt, new Date(5).toISOString());
  assert.ok((await stat(path.join(mirror, 'd'))).isDirectory(), 'its directories made');
  await assert.rejects(stat(verdict.file), { code: 'ENOENT' });
});
