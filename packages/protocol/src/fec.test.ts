import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  fecBlockCount, fecBlockRange, fecEncode, fecParityCount, fecRebuild, fecShardSize, parseFec,
} from './fec.js';

test('parseFec reads K+M and off, and refuses what the codec cannot do', () => {
  assert.deepEqual(parseFec('20+4'), { k: 20, m: 4 });
  assert.deepEqual(parseFec('0'), { k: 0, m: 0 });
  assert.deepEqual(parseFec('off'), { k: 0, m: 0 });
  for (const bad of ['25+4', '20+7', '0+4', '20+0', '20', 'x+y']) assert.throws(() => parseFec(bad), RangeError, bad);
});

test('block layout: full blocks, a short last block with proportional parity', () => {
  const layout = { k: 20, m: 4 };
  assert.equal(fecBlockCount(layout, 45), 3);
  assert.deepEqual(fecBlockRange(layout, 45, 2), { first: 40, count: 5 });
  assert.equal(fecParityCount(layout, 20), 4);
  assert.equal(fecParityCount(layout, 5), 1);
  assert.equal(fecParityCount(layout, 6), 2);
  assert.equal(fecParityCount(layout, 1), 1);
  assert.equal(fecParityCount({ k: 0, m: 0 }, 5), 0);
  assert.equal(fecShardSize(1424), 1424);
  assert.equal(fecShardSize(1), 8);
});

test('any K of K+M shards rebuild the data, short last chunk included', async () => {
  for (const [k, m] of [[20, 4], [1, 1], [3, 1], [24, 6], [7, 3]] as const) {
    const shardSize = 1424;
    const data = Array.from({ length: k }, (_, i) => randomBytes(i === k - 1 ? 1000 : shardSize));
    const parity = await fecEncode(data, m, shardSize);
    assert.equal(parity.length, m);
    for (let trial = 0; trial < 20; trial++) {
      // Lose up to m shards chosen at random among all k+m (fewer: more sources than needed).
      const lost = new Set<number>();
      const losses = trial % 2 === 0 ? m : Math.floor(Math.random() * (m + 1));
      while (lost.size < losses) lost.add(Math.floor(Math.random() * (k + m)));
      const dataIn = data.map((d, i) => (lost.has(i) ? undefined : d));
      const parityIn = parity.map((p, j) => (lost.has(k + j) ? undefined : p));
      const rebuilt = await fecRebuild(dataIn, parityIn, shardSize);
      for (const [i, shard] of rebuilt) assert.deepEqual(shard.subarray(0, data[i]!.length), data[i], `${k}+${m} shard ${i}`);
      assert.equal(rebuilt.size, [...lost].filter((i) => i < k).length);
    }
  }
});

test('too few shards is an error, not a wrong answer', async () => {
  const data = [randomBytes(16), randomBytes(16), randomBytes(16)];
  const parity = await fecEncode(data, 1, 16);
  await assert.rejects(fecRebuild([undefined, undefined, data[2]], parity, 16), RangeError);
});

test('importing the package loads no native addon; the codec comes on first use', () => {
  const index = JSON.stringify(new URL('./index.js', import.meta.url).href);
  const script = `
    import { createRequire } from 'node:module';
    const loaded = () => Object.keys(createRequire(process.cwd() + '/').cache).filter((k) => k.includes('reed-solomon')).length > 0;
    const protocol = await import(${index});
    const before = loaded();
    await protocol.fecEncode([Buffer.alloc(8)], 1, 8);
    console.log(JSON.stringify({ before, after: loaded() }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), { before: false, after: true });
});
