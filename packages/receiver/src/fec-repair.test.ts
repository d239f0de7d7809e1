import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  FrameType, chunkCountFor, encodeFrame, encodeObjectHeader, fecBlockCount, fecBlockRange, fecEncode,
  fecParityCount, fecShardSize, type ObjectHeader,
} from '@diodesync/protocol';
import { DestTree } from './placement/dest-tree.js';
import { ResourceLimits } from './assembly/limits.js';
import { Receiver } from './receiver.js';
import { SyncTracker } from './placement/sync-tracker.js';

const K = 4;
const M = 2;
const CHUNK = 64;

/** Every frame of one object sent with 4+2 FEC: header, then each block's data and parity. */
async function objectFrames(content: Buffer, objectId: number): Promise<{ header: Buffer; blocks: { data: Buffer[]; parity: Buffer[] }[] }> {
  const h: ObjectHeader = {
    kind: 'file', path: 'f.bin', size: content.length, mtimeMs: 1_700_000_000_000, mode: 0o644,
    sha256: createHash('sha256').update(content).digest(), chunkSize: CHUNK,
    chunkCount: chunkCountFor(content.length, CHUNK), version: 1, fecK: K, fecM: M,
  };
  const fields = { sessionId: 1, sequence: 0, objectId, fecK: K, fecM: M };
  const blocks = [];
  for (let b = 0; b < fecBlockCount({ k: K, m: M }, h.chunkCount); b++) {
    const { first, count } = fecBlockRange({ k: K, m: M }, h.chunkCount, b);
    const chunks = Array.from({ length: count }, (_, i) => content.subarray((first + i) * CHUNK, (first + i + 1) * CHUNK));
    const parity = await fecEncode(chunks, fecParityCount({ k: K, m: M }, count), fecShardSize(chunks[0]!.length));
    blocks.push({
      data: chunks.map((c, i) => encodeFrame({ ...fields, type: FrameType.Data, chunkIndex: first + i, fecIndex: i }, c)),
      parity: parity.map((p, j) => encodeFrame({ ...fields, type: FrameType.Parity, chunkIndex: b, fecIndex: count + j }, p)),
    });
  }
  return { header: encodeFrame({ ...fields, type: FrameType.ObjectHeader }, encodeObjectHeader(h)), blocks };
}

async function receiverIn(t: import('node:test').TestContext): Promise<{ receiver: Receiver; dest: string }> {
  const root = await mkdtemp(path.join(tmpdir(), 'diodesync-fec-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dest = path.join(root, 'dest');
  await mkdir(dest);
  const tree = new DestTree(dest);
  const limits = new ResourceLimits({ maxFileSize: 2 ** 40, maxFiles: 1000, minFree: { bytes: 0 } }, [root]);
  const receiver = new Receiver({ stateDir: path.join(root, 'state'), maxBuffer: 1 << 20, maxPartials: 8, limits }, tree, new SyncTracker(tree));
  await receiver.init();
  t.after(() => receiver.close());
  return { receiver, dest };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
}

test('lost chunks of every block, short last block included, are rebuilt from parity', async (t) => {
  const { receiver, dest } = await receiverIn(t);
  const content = randomBytes(CHUNK * 10 - 5); // blocks of 4, 4 and 2 chunks; the last chunk short
  const { header, blocks } = await objectFrames(content, 1);
  receiver.handleDatagram(header);
  // Block 0 loses 2 data chunks (= M), block 1 one, block 2 (2 chunks, 1 parity) its short last chunk.
  const lost = [[0, 3], [2], [1]];
  blocks.forEach((b, i) => b.data.forEach((d, j) => lost[i]!.includes(j) || receiver.handleDatagram(d)));
  for (const b of blocks) b.parity.forEach((p) => receiver.handleDatagram(p));
  await until(() => receiver.counters.filesCompleted === 1);
  await receiver.settle();
  assert.deepEqual(await readFile(path.join(dest, 'f.bin')), content);
  assert.equal(receiver.counters.fecRepairedChunks, 4);
  assert.equal(receiver.counters.fecBlocksRepaired, 3);
  assert.equal(receiver.budget.held, 0, 'no parity or chunk left in memory');
});

test('parity of a block whose data all arrived is dropped at once; too little parity leaves the file incomplete', async (t) => {
  const { receiver } = await receiverIn(t);
  const content = randomBytes(CHUNK * 8);
  const { header, blocks } = await objectFrames(content, 2);
  receiver.handleDatagram(header);
  blocks[0]!.data.forEach((d) => receiver.handleDatagram(d));
  blocks[1]!.data.slice(3).forEach((d) => receiver.handleDatagram(d)); // 3 of 4 lost: M = 2 cannot rebuild
  for (const b of blocks) b.parity.forEach((p) => receiver.handleDatagram(p));
  await until(() => receiver.budget.held === M * CHUNK); // the chunks that arrived are written
  assert.equal(receiver.counters.fecParityUnneeded, M);
  assert.equal(receiver.counters.fecRepairedChunks, 0);
  assert.equal(receiver.counters.filesCompleted, 0);
  assert.equal(receiver.budget.held, M * CHUNK, "only block 1's parity is held, waiting for more");
  // A later pass brings one more chunk of block 1: now 2 data + 2 parity rebuild the rest.
  receiver.handleDatagram(blocks[1]!.data[0]!);
  await until(() => receiver.counters.filesCompleted === 1);
  assert.equal(receiver.counters.fecRepairedChunks, 2);
  assert.equal(receiver.budget.held, 0);
});
