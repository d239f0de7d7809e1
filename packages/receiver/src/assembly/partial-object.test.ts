import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { HashedHeader } from '@diodesync/protocol';
import { EarlyHash } from './early-hash.js';
import { PartialObject, type WriteEvents } from './partial-object.js';

const CHUNK = 1024;

async function setUp(t: import('node:test').TestContext, chunks = 4) {
  const dir = await mkdtemp(path.join(tmpdir(), 'diodesync-partial-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const content = randomBytes(chunks * CHUNK - 10); // the last chunk is short
  const header: HashedHeader = {
    kind: 'file', path: 'f.bin', size: content.length, mtimeMs: 0, mode: 0o644, sha256: createHash('sha256').update(content).digest(),
    chunkSize: CHUNK, chunkCount: chunks, version: 0, fecK: 0, fecM: 0,
  };
  const chunk = (i: number) => Buffer.from(content.subarray(i * CHUNK, (i + 1) * CHUNK));
  const log = { written: 0, failed: [] as string[] };
  const events: WriteEvents = { written: (bytes) => void (log.written += bytes), failed: (err) => void log.failed.push(err.code ?? err.message) };
  return { dir, header, content, chunk, log, events, tempPath: path.join(dir, 'obj.part') };
}

test('a checkpoint records the chunks on disk; restore brings them back and keeps the temp file', async (t) => {
  const { dir, header, chunk, log, events, tempPath } = await setUp(t);
  const partial = new PartialObject(header, tempPath, events);
  partial.add(0, chunk(0));
  partial.add(2, chunk(2));
  await partial.checkpoint();
  assert.equal(log.written, 2 * CHUNK, 'both chunks left memory');
  assert.deepEqual((await readdir(dir)).sort(), ['obj.meta', 'obj.part']);
  await partial.closeIdle();

  const restored = await PartialObject.restore(tempPath, events);
  assert.deepEqual(restored.header, header);
  assert.equal(restored.received, 2);
  assert.ok(restored.has(0) && restored.has(2) && !restored.has(1) && !restored.has(3));
  assert.equal(restored.lastActivity, partial.lastActivity);
  restored.add(1, chunk(1));
  restored.add(3, chunk(3));
  assert.ok(restored.complete);
  assert.deepEqual(await restored.finish(), header.sha256, 'the kept chunks and the new ones make the file');
  await restored.forgetCheckpoint();
  assert.deepEqual(await readdir(dir), ['obj.part']);
});

test('a checkpoint without its temp file, or of another shape, is not restored', async (t) => {
  const { header, chunk, events, tempPath } = await setUp(t);
  const partial = new PartialObject(header, tempPath, events);
  partial.add(0, chunk(0));
  await partial.checkpoint();
  await partial.closeIdle();
  await rm(tempPath);
  await assert.rejects(PartialObject.restore(tempPath, events), { code: 'ENOENT' });
  await writeFile(tempPath, '');
  const meta = JSON.parse(await readFile(partial.checkpointPath, 'utf8')) as { bitmap: string };
  await writeFile(partial.checkpointPath, JSON.stringify({ ...meta, bitmap: Buffer.alloc(9).toString('base64') }));
  await assert.rejects(PartialObject.restore(tempPath, events), /does not match/);
});

test('a write that fails un-marks its chunks, is reported, and is never checkpointed; the next pass completes the file', async (t) => {
  const { header, chunk, log, events, tempPath } = await setUp(t);
  const partial = new PartialObject(header, tempPath, events);
  partial.add(0, chunk(0));
  await partial.checkpoint();
  await partial.closeIdle();
  // The temp file's name now holds a directory, so the next write fails (EISDIR), as a full disk fails one.
  await rename(tempPath, `${tempPath}.aside`);
  await mkdir(tempPath);
  partial.add(1, chunk(1));
  assert.ok(partial.has(1));
  await partial.checkpoint();
  assert.deepEqual(log.failed, ['EISDIR']);
  assert.ok(!partial.has(1), 'a chunk that is not on disk is not counted as received');
  assert.equal(partial.received, 1);
  assert.equal(log.written, 2 * CHUNK, 'its bytes left memory all the same');
  // What is on disk says chunk 0 only: the checkpoint taken across the failure was not kept.
  await rmdir(tempPath);
  await rename(`${tempPath}.aside`, tempPath);
  const restored = await PartialObject.restore(tempPath, events);
  assert.equal(restored.received, 1);
  assert.ok(restored.has(0) && !restored.has(1));
  // The next pass brings chunk 1 again, and the rest.
  for (const i of [1, 2]) partial.add(i, chunk(i));
  partial.add(3, chunk(3));
  assert.deepEqual(await partial.finish(), header.sha256);
});

test('finish hashes what the temp file holds, read back, not what was meant to be written; a write lost on the way means no hash', async (t) => {
  const { header, chunk, events, tempPath } = await setUp(t, 2);
  const partial = new PartialObject(header, tempPath, events);
  partial.add(0, chunk(0));
  await partial.checkpoint(); // waits for the write
  await partial.closeIdle();
  const fh = await open(tempPath, 'r+');
  await fh.write(Buffer.from([0xff]), 0, 1, 5); // the disk changed a byte under us
  await fh.close();
  partial.add(1, chunk(1));
  const sha256 = await partial.finish();
  assert.ok(sha256 && !sha256.equals(header.sha256), 'verification sees the byte the disk holds');

  const second = await setUp(t, 2);
  const failing = new PartialObject(second.header, second.tempPath, second.events);
  await mkdir(second.tempPath); // no temp file can be opened: every write fails
  failing.add(0, second.chunk(0));
  failing.add(1, second.chunk(1));
  assert.ok(failing.complete);
  assert.equal(await failing.finish(), undefined, 'chunks missing again: not complete, nothing to verify');
  assert.equal(failing.received, 0);
});

test('a checkpoint that cannot be written leaves the older one and no temp file behind', async (t) => {
  const { dir, header, chunk, events, tempPath } = await setUp(t);
  const partial = new PartialObject(header, tempPath, events);
  partial.add(0, chunk(0));
  // The checkpoint's name holds a directory that is not empty: its rename fails, as on a full disk.
  await mkdir(path.join(partial.checkpointPath, 'x'), { recursive: true });
  await partial.checkpoint();
  assert.deepEqual((await readdir(dir)).sort(), ['obj.meta', 'obj.part']);
  assert.deepEqual(await readdir(partial.checkpointPath), ['x']);
});

test('chunks of interleaved FEC blocks are written in long runs, not a write per column, and the file comes out whole', async (t) => {
  // 4 groups of 16 blocks of 20 chunks, each group sent column by column as the sender's interleaver does (about 1.3 MB a group).
  const blocks = 16;
  const k = 20;
  const groups = 4;
  const { header, chunk, content, events, tempPath } = await setUp(t, groups * blocks * k);
  const writes: number[] = [];
  const partial = new PartialObject(header, tempPath, { ...events, written: (bytes) => void writes.push(bytes) });
  for (let g = 0; g < groups; g++) {
    for (let column = 0; column < k; column++) {
      for (let b = 0; b < blocks; b++) {
        const c = (g * blocks + b) * k + column;
        const bytes = chunk(c);
        partial.add(c, bytes);
        bytes.fill(0); // the receive slot is reused: the partial kept a copy
      }
    }
  }
  assert.ok(partial.complete);
  assert.deepEqual(await partial.finish(), header.sha256, 'what was written is the file');
  assert.deepEqual(await readFile(tempPath), content);
  // A flush at every MB of columns wrote each block's part of a column alone: hundreds of writes.
  assert.ok(writes.length <= 12, `${writes.length} writes for ${content.length} bytes`);
});

/** A large object (early-hash.ts: from 16 MiB on, hashed as its chunks reach the disk; here whatever the machine's load, unless `spare` says otherwise). */
async function setUpLarge(t: import('node:test').TestContext, spare = true) {
  const gate = EarlyHash.hasSpareCpu;
  EarlyHash.hasSpareCpu = () => spare;
  t.after(() => void (EarlyHash.hasSpareCpu = gate));
  const s = await setUp(t, 1);
  const content = randomBytes(20 * 1024 * 1024 + 100);
  content.fill(0, 5 * CHUNK, 9 * CHUNK); // chunks of zeros: holes, never written
  const chunkCount = Math.ceil(content.length / CHUNK);
  const header: HashedHeader = { ...s.header, size: content.length, chunkCount, sha256: createHash('sha256').update(content).digest() };
  const chunk = (i: number) => Buffer.from(content.subarray(i * CHUNK, (i + 1) * CHUNK));
  return { ...s, header, content, chunk, chunkCount };
}

/** Indices `from..to-1`, in an order that is not the file's. */
const shuffled = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i).sort((a, b) => ((a * 7919) % 1009) - ((b * 7919) % 1009));

test('a large object is read back and hashed while its chunks arrive, in any order; verification reads only the tail', async (t) => {
  const { header, chunk, chunkCount, events, tempPath } = await setUpLarge(t);
  const partial = new PartialObject(header, tempPath, events);
  const half = Math.floor(chunkCount / 2);
  for (const i of shuffled(0, half)) partial.add(i, chunk(i));
  await partial.checkpoint(); // waits for the writes
  await partial.closeIdle(); // and for the hashing step under way
  assert.ok(partial.hashedAhead >= 6 * 1024 * 1024, `hashed ahead: ${partial.hashedAhead}`);
  assert.ok(partial.hashedAhead <= half * CHUNK, 'never past the chunks on disk');
  for (const i of shuffled(half, chunkCount)) partial.add(i, chunk(i));
  assert.deepEqual(await partial.finish(), header.sha256);
});

test('a large object: chunks whose write failed are hashed only once written again; a restored object hashes what its checkpoint lists', async (t) => {
  const { header, chunk, chunkCount, log, events, tempPath } = await setUpLarge(t);
  const partial = new PartialObject(header, tempPath, events);
  for (let i = 0; i < 1000; i++) partial.add(i, chunk(i));
  await partial.checkpoint();
  await partial.closeIdle();
  await rename(tempPath, `${tempPath}.aside`);
  await mkdir(tempPath); // the next writes fail, as on a full disk
  for (let i = 1000; i < 9000; i++) partial.add(i, chunk(i));
  await partial.checkpoint();
  await partial.closeIdle();
  assert.ok(log.failed.length > 0 && !partial.has(1000));
  assert.ok(partial.hashedAhead <= 1000 * CHUNK, 'nothing past the failed writes was hashed');
  await rmdir(tempPath);
  await rename(`${tempPath}.aside`, tempPath);
  await partial.closeIdle();

  const restored = await PartialObject.restore(tempPath, events);
  assert.equal(restored.received, 1000);
  for (let i = 1000; i < chunkCount - 1; i++) restored.add(i, chunk(i));
  await restored.checkpoint(); // waits for the writes while the object is not complete
  await restored.closeIdle();
  assert.ok(restored.hashedAhead > 1000 * CHUNK, 'the restored chunks and the new ones were hashed ahead');
  restored.add(chunkCount - 1, chunk(chunkCount - 1));
  assert.deepEqual(await restored.finish(), header.sha256);
});

test('a large object whose temp file was cut short under it is never verified as whole', async (t) => {
  const { header, chunk, chunkCount, events, tempPath } = await setUpLarge(t);
  const partial = new PartialObject(header, tempPath, events);
  for (let i = 0; i < chunkCount - 1; i++) partial.add(i, chunk(i));
  await partial.checkpoint();
  await partial.closeIdle();
  const fh = await open(tempPath, 'r+');
  await fh.truncate(header.size - 5000); // another process cut the file
  await fh.close();
  partial.add(chunkCount - 1, chunk(chunkCount - 1)); // written past the new end: the file grows again, with a hole
  const sha256 = await partial.finish();
  assert.ok(sha256 && !sha256.equals(header.sha256), 'the hole where the cut bytes were shows in the hash');
});

test('a large object on a machine with no CPU to spare is hashed at the end only, and comes out the same', async (t) => {
  const { header, chunk, chunkCount, events, tempPath } = await setUpLarge(t, false);
  const partial = new PartialObject(header, tempPath, events);
  for (const i of shuffled(0, chunkCount - 1)) partial.add(i, chunk(i));
  await partial.checkpoint();
  await partial.closeIdle();
  assert.equal(partial.hashedAhead, 0);
  partial.add(chunkCount - 1, chunk(chunkCount - 1));
  assert.deepEqual(await partial.finish(), header.sha256);
});
