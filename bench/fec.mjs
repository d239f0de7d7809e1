#!/usr/bin/env node
// FEC encode/decode throughput of the protocol package's wrapper (packing copies included), in MB/s
// of data bytes. Usage: node bench/fec.mjs [K+M ...] [--shard BYTES] [--seconds S]
// Build first (npx tsc -b). Runs one block at a time, as the sender and receiver do, and with
// 4 blocks in flight (the libuv thread pool has 4 threads by default).
import { randomBytes } from 'node:crypto';
import { fecEncode, fecRebuild, parseFec } from '../packages/protocol/dist/index.js';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : Number(args.splice(i, 2)[1]);
};
const shardSize = opt('--shard', 1424);
const seconds = opt('--seconds', 2);
const layouts = (args.length ? args : ['20+4', '20+2', '10+5', '24+6']).map(parseFec);

async function measure(inFlight, work) {
  let blocks = 0;
  const until = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (performance.now() < until) {
      await work();
      blocks++;
    }
  }));
  return { blocks, ms: performance.now() - started };
}

console.log(`shard ${shardSize} B, ${seconds} s per figure, node ${process.version}`);
console.log('| K+M | in flight | encode MB/s | decode MB/s (M data shards lost) |');
console.log('|---|---|---|---|');
for (const { k, m } of layouts) {
  const data = Array.from({ length: k }, () => randomBytes(shardSize));
  const parity = await fecEncode(data, m, shardSize);
  const lost = data.map((d, i) => (i < m ? undefined : d)); // the worst case: M data shards to rebuild
  for (const inFlight of [1, 4]) {
    const enc = await measure(inFlight, () => fecEncode(data, m, shardSize));
    const dec = await measure(inFlight, () => fecRebuild(lost, parity, shardSize));
    const mbps = (r) => ((r.blocks * k * shardSize) / 1e6 / (r.ms / 1000)).toFixed(0);
    console.log(`| ${k}+${m} | ${inFlight} | ${mbps(enc)} | ${mbps(dec)} |`);
  }
}
