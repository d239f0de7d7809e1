import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FrameType, fecRebuild } from '@diodesync/protocol';
import { codedGroups, interleaved, type CodedFrame } from './coded-groups.js';

async function collect(bytes: Buffer, chunkSize: number, k: number, m: number, depth: number): Promise<CodedFrame[][][]> {
  const groups: CodedFrame[][][] = [];
  for await (const g of codedGroups([bytes], chunkSize, { k, m }, depth)) groups.push(g);
  return groups;
}

test('without FEC: every chunk in order, nothing held back', async () => {
  const groups = await collect(randomBytes(1000), 64, 0, 0, 8);
  assert.equal(groups.length, 16);
  const frames = groups.flatMap((g) => [...interleaved(g)].map((f) => f.frame));
  assert.deepEqual(frames.map((f) => f.chunkIndex), [...Array(16).keys()]);
  assert.ok(frames.every((f) => f.type === FrameType.Data));
});

test('20+4 over 3 blocks of depth 2: full blocks, a short last block, column order', async () => {
  const bytes = randomBytes(64 * 45 - 10); // 45 chunks, the last one short
  const groups = await collect(bytes, 64, 20, 4, 2);
  assert.deepEqual(groups.map((g) => g.map((row) => row.length)), [[24, 24], [5 + 1]]);
  const order = [...interleaved(groups[0]!)].slice(0, 4).map(({ frame }) => `${frame.type}:${frame.chunkIndex}`);
  assert.deepEqual(order, ['2:0', '2:20', '2:1', '2:21']);
  // The short block's parity rebuilds its lost short last chunk.
  const last = groups[1]![0]!;
  const shard = last.at(-1)!;
  assert.equal(shard.type, FrameType.Parity);
  assert.equal(shard.chunkIndex, 2);
  assert.equal(shard.fecIndex, 5);
  const data = last.slice(0, 5).map((f) => f.payload);
  const rebuilt = await fecRebuild([...data.slice(0, 4), undefined], [shard.payload], 64);
  assert.deepEqual(rebuilt.get(4)!.subarray(0, data[4]!.length), data[4]);
});

test('a burst of `depth` consecutive frames costs each block at most one frame', async () => {
  const depth = 8;
  const groups = await collect(randomBytes(100 * 20 * depth), 100, 20, 4, depth);
  const wire = groups.flatMap((g) => [...interleaved(g)].map(({ frame }) => frame));
  for (let start = 0; start + depth <= wire.length; start += 7) {
    const hits = new Map<number, number>();
    for (const f of wire.slice(start, start + depth)) {
      const block = f.type === FrameType.Parity ? f.chunkIndex : Math.floor(f.chunkIndex / 20);
      hits.set(block, (hits.get(block) ?? 0) + 1);
    }
    assert.ok(Math.max(...hits.values()) <= 1, `burst at ${start}`);
  }
});
