import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { encodeParity, nativeIo, parityPath } from '@diodesync/native';
import { fecEncode, fecRebuild, fecShardSize } from '@diodesync/protocol';

// The sender codes parity with the addon's encodeParity when it can (coded-groups.ts); the
// receiver rebuilds with the codec. They must agree byte for byte, in every layout the protocol allows.
const layouts: [number, number][] = [[1, 1], [1, 3], [2, 1], [3, 2], [4, 2], [8, 2], [10, 4], [13, 5], [16, 6], [20, 4], [24, 6]];

test('the addon\'s encoder is there exactly when the addon is', () => {
  assert.equal(encodeParity !== undefined, nativeIo.available);
});

test('parity coded on this thread is the codec\'s, and the codec rebuilds lost chunks from it', async () => {
  if (!encodeParity) return assert.equal(nativeIo.available, false);
  const encoder = encodeParity;
  for (const [k, m] of layouts) {
    for (const size of [8, 24, 64, 1400, 1424, 8976]) {
      // A short last chunk, zero-padded for coding, as an object's last chunk is.
      const chunks = Array.from({ length: k }, (_, i) => randomBytes(i === k - 1 && k > 1 ? size - 5 : size));
      const shard = fecShardSize(size);
      const theirs = await fecEncode(chunks, m, shard);
      const ours = await fecEncode(chunks, m, shard, encoder);
      assert.deepEqual(ours, theirs, `${k}+${m}, ${size} B`);
      // Lose as many data chunks as there are parity shards: the codec rebuilds them from ours.
      const lost = chunks.map((c, i) => (i < m ? undefined : c));
      const rebuilt = await fecRebuild(lost, ours, shard);
      for (let i = 0; i < Math.min(m, k); i++) assert.deepEqual(rebuilt.get(i)!.subarray(0, chunks[i]!.length), chunks[i], `${k}+${m}, ${size} B, chunk ${i}`);
    }
  }
});

test('the addon codes 32 bytes a step on a CPU with AVX2', () => {
  if (!encodeParity) return assert.equal(parityPath, 'codec');
  const cpuHasIt = /\bavx2\b/.test(readFileSync('/proc/cpuinfo', 'utf8')) && process.arch === 'x64';
  assert.equal(parityPath, cpuHasIt ? 'avx2' : 'words');
});

test('eight bytes a step (a CPU without AVX2, forced by DIODESYNC_PARITY_WORDS=1) codes the same parity', () => {
  if (!encodeParity) return assert.equal(parityPath, 'codec');
  const native = new URL('../../../native/dist/index.js', import.meta.url).href;
  const protocol = new URL('../../../protocol/dist/index.js', import.meta.url).href;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e',
    `import { encodeParity, parityPath } from ${JSON.stringify(native)};
     import { fecEncode, fecShardSize } from ${JSON.stringify(protocol)};
     import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
     let bad = 0, checked = 0;
     for (const [k, m] of ${JSON.stringify(layouts)}) for (const size of [8, 24, 64, 1400, 1424, 8976]) {
       const chunks = Array.from({ length: k }, () => randomBytes(size));
       const ours = await fecEncode(chunks, m, fecShardSize(size), encodeParity);
       const theirs = await fecEncode(chunks, m, fecShardSize(size));
       checked++;
       if (!ours.every((p, i) => p.equals(theirs[i]))) bad++;
     }
     console.log(JSON.stringify({ parityPath, bad, checked }));`],
  { env: { ...process.env, DIODESYNC_PARITY_WORDS: '1' }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { parityPath: 'words', bad: 0, checked: layouts.length * 6 });
});

test('chunks that lie one after the other in one read are coded in place, with the same parity', async () => {
  const read = randomBytes(20 * 1424 + 16);
  const chunks = Array.from({ length: 20 }, (_, i) => read.subarray(16 + i * 1424, 16 + (i + 1) * 1424));
  const copies = chunks.map((c) => Buffer.from(c));
  assert.deepEqual(await fecEncode(chunks, 4, 1424, encodeParity), await fecEncode(copies, 4, 1424));
  assert.deepEqual(await fecEncode(chunks, 4, 1424), await fecEncode(copies, 4, 1424));
});

test('a context and buffers that do not match are refused, not coded out of bounds', () => {
  if (!encodeParity) return assert.equal(nativeIo.available, false);
  const context = Buffer.from([8, 20, 4]);
  assert.throws(() => encodeParity!(context, Buffer.alloc(20 * 1424), Buffer.alloc(4 * 1424), 1424), RangeError);
});
