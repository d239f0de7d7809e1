import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FrameType, fecRebuild } from '@diodesync/protocol';
import { codedBlocks, interleaved, type CodedFrame } from './coded-groups.js';

async function collect(bytes: Buffer, chunkSize: number, k: number, m: number): Promise<CodedFrame[][]> {
  const blocks: CodedFrame[][] = [];
  for await (const b of codedBlocks([bytes], chunkSize, { k, m })) blocks.push(b);
  return blocks;
}

test('without FEC: every chunk a block of its own, in order', async () => {
  const blocks = await collect(randomBytes(1000), 64, 0, 0);
  assert.equal(blocks.length, 16);
  assert.deepEqual(blocks.flat().map((f) => f.chunkIndex), [...Array(16).keys()]);
  assert.ok(blocks.flat().every((f) => f.type === FrameType.Data));
});

test('20+4: full blocks, then a short last block with proportional parity that rebuilds its short chunk', async () => {
  const bytes = randomBytes(64 * 45 - 10); // 45 chunks, the last one short
  const blocks = await collect(bytes, 64, 20, 4);
  assert.deepEqual(blocks.map((b) => b.length), [24, 24, 5 + 1]);
  const last = blocks[2]!;
  const shard = last.at(-1)!;
  assert.equal(shard.type, FrameType.Parity);
  assert.equal(shard.chunkIndex, 2);
  assert.equal(shard.fecIndex, 5);
  const data = last.slice(0, 5).map((f) => f.payload);
  const rebuilt = await fecRebuild([...data.slice(0, 4), undefined], [shard.payload], 64);
  assert.deepEqual(rebuilt.get(4)!.subarray(0, data[4]!.length), data[4]);
});

test('interleaved: column by column across blocks of different lengths', () => {
  const order = [...interleaved([['a0', 'a1', 'a2'], ['b0'], ['c0', 'c1']])].map((f) => f.frame);
  assert.deepEqual(order, ['a0', 'b0', 'c0', 'a1', 'c1', 'a2']);
});
