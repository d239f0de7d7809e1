import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FrameType, encodeObjectHeader, fecEncode, fecShardSize, type Frame, type FrameHeader, type ObjectHeader } from '@diodesync/protocol';
import { DestTree } from './placement/dest-tree.js';
import { ResourceLimits } from './assembly/limits.js';
import { Receiver } from './receiver.js';
import { SyncTracker } from './placement/sync-tracker.js';

// A sender's first send of a large file reads it once: its header goes without the hash, which
// follows the data (sender: large-file-sender.ts). The receiver assembles, and verifies once the hash is there.

const CHUNK = 1024;
const CHUNKS = 10;

function frame(type: FrameHeader['type'], sessionId: number, chunkIndex: number, payload: Buffer, objectId = 1, fec = { k: 0, m: 0, index: 0 }): Frame {
  return {
    header: { type, flags: 0, sessionId, sequence: chunkIndex, objectId, chunkIndex, fecK: fec.k, fecM: fec.m, fecIndex: fec.index, pass: 1, payloadLength: payload.length, payloadCrc: 0 },
    payload,
  };
}

/** One file version: its header without the hash and with it, and its frames. */
function version(version: number, content = randomBytes(CHUNKS * CHUNK), fec = { k: 0, m: 0 }) {
  const header: ObjectHeader = {
    kind: 'file', path: 'big.bin', size: content.length, mtimeMs: 1_700_000_000_000 + version, mode: 0o644,
    chunkSize: CHUNK, chunkCount: Math.ceil(content.length / CHUNK), version, fecK: fec.k, fecM: fec.m,
  };
  const sha256 = createHash('sha256').update(content).digest();
  return {
    content,
    withoutHash: (session: number) => frame(FrameType.ObjectHeader, session, 0, encodeObjectHeader(header), version),
    withHash: (session: number, hash = sha256) => frame(FrameType.ObjectHeader, session, 0, encodeObjectHeader({ ...header, sha256: hash }), version),
    data: (session: number, i: number) => frame(FrameType.Data, session, i, Buffer.from(content.subarray(i * CHUNK, (i + 1) * CHUNK)), version, { ...fec, index: fec.k ? i % fec.k : 0 }),
    /** The one parity frame of FEC block `block` (m = 1). */
    parity: async (session: number, block: number) => {
      const chunks = Array.from({ length: fec.k }, (_, j) => content.subarray((block * fec.k + j) * CHUNK, (block * fec.k + j + 1) * CHUNK));
      const [shard] = await fecEncode(chunks, 1, fecShardSize(CHUNK));
      return frame(FrameType.Parity, session, block, shard!, version, { ...fec, index: fec.k });
    },
  };
}

async function until(condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    assert.ok(waited < 5_000, 'timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function setUp(t: TestContext) {
  const root = await mkdtemp(path.join(tmpdir(), 'diodesync-hash-follows-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dest = path.join(root, 'dest');
  await mkdir(dest);
  const partialDir = path.join(root, 'state', 'partial');
  const open = async () => {
    const tree = new DestTree(dest);
    const receiver = new Receiver(
      { stateDir: path.join(root, 'state'), maxBuffer: 64 << 20, maxPartials: 16, limits: new ResourceLimits({ maxFileSize: 2 ** 40, maxFiles: 1e6, minFree: { bytes: 0 } }, [root]) },
      tree, new SyncTracker(tree),
    );
    await receiver.init();
    return receiver;
  };
  const receiver = await open();
  t.after(() => receiver.close());
  return { receiver, open, mirrorFile: path.join(dest, 'big.bin'), tempFiles: () => readdirSync(partialDir).filter((n) => n.endsWith('.part')) };
}

test('an object whose hash follows its data is held complete, then verified and placed when the hash comes', { timeout: 30_000 }, async (t) => {
  const { receiver, mirrorFile, tempFiles } = await setUp(t);
  const v = version(5);
  receiver.handleFrame(v.withoutHash(7));
  for (let i = 0; i < CHUNKS; i++) receiver.handleFrame(v.data(7, i));
  await receiver.settle();
  assert.ok(!existsSync(mirrorFile), 'nothing is placed before the hash');
  assert.equal(receiver.partialCount, 1);
  receiver.handleFrame(v.withHash(7));
  await receiver.settle();
  assert.equal(receiver.counters.filesCompleted, 1);
  assert.ok((await readFile(mirrorFile)).equals(v.content));
  assert.deepEqual(tempFiles(), []);
});

test('the hash may come while the data still arrives; a late copy of the header without it changes nothing', { timeout: 30_000 }, async (t) => {
  const { receiver, mirrorFile } = await setUp(t);
  const v = version(5);
  receiver.handleFrame(v.withoutHash(7));
  for (let i = 0; i < 4; i++) receiver.handleFrame(v.data(7, i));
  receiver.handleFrame(v.withHash(7));
  receiver.handleFrame(v.withoutHash(7)); // reordered on the way
  for (let i = 4; i < CHUNKS; i++) receiver.handleFrame(v.data(7, i));
  await receiver.settle();
  assert.equal(receiver.counters.filesCompleted, 1);
  assert.equal(receiver.counters.duplicateChunks, 0, 'every chunk went to the one object');
  assert.ok((await readFile(mirrorFile)).equals(v.content));
});

test('a wrong hash that follows the data places nothing', { timeout: 30_000 }, async (t) => {
  const { receiver, mirrorFile } = await setUp(t);
  const v = version(5);
  receiver.handleFrame(v.withoutHash(7));
  for (let i = 0; i < CHUNKS; i++) receiver.handleFrame(v.data(7, i));
  receiver.handleFrame(v.withHash(7, randomBytes(32)));
  await receiver.settle();
  assert.equal(receiver.counters.verifyFailed, 1);
  assert.equal(receiver.counters.filesCompleted, 0);
  assert.ok(!existsSync(mirrorFile));
});

test('across a receiver restart: the hash from a restarted sender completes what the first run held', { timeout: 30_000 }, async (t) => {
  const { receiver, open, mirrorFile, tempFiles } = await setUp(t);
  const v = version(5);
  receiver.handleFrame(v.withoutHash(7));
  for (let i = 0; i < CHUNKS; i++) receiver.handleFrame(v.data(7, i));
  await receiver.settle();
  await receiver.close();
  const again = await open();
  t.after(() => again.close());
  assert.equal(again.counters.partialsRestored, 1);
  again.handleFrame(v.withHash(9)); // another session: only the version ties it to the data
  await again.settle();
  assert.equal(again.counters.filesCompleted, 1);
  assert.ok((await readFile(mirrorFile)).equals(v.content));
  assert.deepEqual(tempFiles(), []);
});

test('after a restart, a first send again of a version that took its hash fills the same temp file', { timeout: 30_000 }, async (t) => {
  const { receiver, open, mirrorFile, tempFiles } = await setUp(t);
  const v = version(5);
  receiver.handleFrame(v.withoutHash(7));
  for (let i = 0; i < 4; i++) receiver.handleFrame(v.data(7, i));
  receiver.handleFrame(v.withHash(7)); // its temp file keeps the name it was made with
  await receiver.close();
  const again = await open();
  t.after(() => again.close());
  assert.equal(tempFiles().length, 1);
  again.handleFrame(v.withoutHash(9));
  for (let i = 0; i < CHUNKS; i++) again.handleFrame(v.data(9, i));
  assert.equal(tempFiles().length, 1, 'no second copy, and the first is not truncated');
  await again.settle();
  assert.equal(again.counters.filesCompleted, 1);
  assert.equal(again.counters.duplicateChunks, 4);
  assert.ok((await readFile(mirrorFile)).equals(v.content));
});

test('a newer version of the path drops one whose hash never came (the sender saw it change as it read it)', { timeout: 30_000 }, async (t) => {
  const { receiver, mirrorFile, tempFiles } = await setUp(t);
  const torn = version(5);
  receiver.handleFrame(torn.withoutHash(7));
  for (let i = 0; i < CHUNKS; i++) receiver.handleFrame(torn.data(7, i));
  await until(() => tempFiles().length === 1); // its chunks go to disk while it waits
  const next = version(6);
  receiver.handleFrame(next.withoutHash(7));
  for (let i = 0; i < CHUNKS; i++) receiver.handleFrame(next.data(7, i));
  receiver.handleFrame(next.withHash(7));
  await receiver.settle();
  assert.equal(receiver.partialCount, 0, 'the torn copy is gone');
  assert.deepEqual(tempFiles(), []);
  assert.ok((await readFile(mirrorFile)).equals(next.content));
});

test('a chunk FEC rebuilds while the hash comes goes to the object, known by its content by then', { timeout: 30_000 }, async (t) => {
  const { receiver, mirrorFile } = await setUp(t);
  const v = version(5, randomBytes(8 * CHUNK), { k: 4, m: 1 });
  receiver.handleFrame(v.withoutHash(7));
  for (let i = 0; i < 8; i++) if (i !== 2) receiver.handleFrame(v.data(7, i));
  const parity = await v.parity(7, 0);
  receiver.handleFrame(parity); // block 0 is rebuilt from the disk: it takes a while
  receiver.handleFrame(v.withHash(7)); // meanwhile the object becomes known by its content
  await until(() => receiver.counters.filesCompleted === 1);
  assert.equal(receiver.counters.fecRepairedChunks, 1);
  assert.ok((await readFile(mirrorFile)).equals(v.content));
});
