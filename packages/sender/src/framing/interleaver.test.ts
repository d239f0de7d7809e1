import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FrameType, decodeObjectHeader, fecBlockCount, fecBlockRange, fecParityCount, type FrameHeader, type ObjectHeader } from '@diodesync/protocol';
import { FrameEmitter } from './frame-emitter.js';
import { Interleaver } from './interleaver.js';
import { memoryWire } from './memory-wire.test-support.js';
import { sendObject } from './object-sender.js';
import { TokenBucket } from '../transport/rate-limiter.js';

const wire = memoryWire;

function header(size: number, chunkSize: number): ObjectHeader {
  return {
    kind: 'file', path: 'x', size, mtimeMs: 0, mode: 0o644, sha256: Buffer.alloc(32), chunkSize,
    chunkCount: Math.ceil(size / chunkSize), version: 1, fecK: 20, fecM: 4,
  };
}

/** Block of a data or parity frame: which frames a burst must not take two of. */
const blockOf = (f: FrameHeader) => `${f.objectId}:${f.type === FrameType.Parity ? f.chunkIndex : Math.floor(f.chunkIndex / 20)}`;

test('a burst of `depth` frames costs every block at most one frame, small objects included', async () => {
  const depth = 8;
  const { sink, frames } = wire();
  const interleaver = new Interleaver(new FrameEmitter(1, sink, new TokenBucket(1e12)), depth);
  // One object of 8 full blocks, then 16 one-block objects (k' = 3, m' = 1).
  await sendObject(interleaver, 1, header(64 * 160, 64), [randomBytes(64 * 160)], 1);
  for (let id = 2; id < 18; id++) await sendObject(interleaver, id, header(64 * 3, 64), [randomBytes(64 * 3)], 1);
  await interleaver.flush();
  const coded = frames.filter((f) => f.type !== FrameType.ObjectHeader);
  assert.equal(coded.length, 8 * 24 + 16 * 4);
  for (let start = 0; start + depth <= frames.length; start++) {
    const hits = new Map<string, number>();
    for (const f of frames.slice(start, start + depth)) {
      if (f.type !== FrameType.ObjectHeader) hits.set(blockOf(f), (hits.get(blockOf(f)) ?? 0) + 1);
    }
    assert.ok(Math.max(0, ...hits.values()) <= 1, `burst at ${start}`);
  }
});

test('the tail of a pass, fewer blocks than `depth`, is padded so the same bursts cost each block one frame', async () => {
  const depth = 8;
  const { sink, frames } = wire();
  const interleaver = new Interleaver(new FrameEmitter(1, sink, new TokenBucket(1e12)), depth);
  await sendObject(interleaver, 1, header(64 * 60, 64), [randomBytes(64 * 60)], 1); // 3 blocks
  await sendObject(interleaver, 2, header(100, 64), [randomBytes(100)], 1); // the manifest, say: 2 + 1 frames
  await interleaver.flush();
  for (let start = 0; start + depth <= frames.length; start++) {
    const hits = new Map<string, number>();
    for (const f of frames.slice(start, start + depth)) {
      if (f.type !== FrameType.ObjectHeader) hits.set(blockOf(f), (hits.get(blockOf(f)) ?? 0) + 1);
    }
    assert.ok(Math.max(0, ...hits.values()) <= 1, `burst at ${start}`);
  }
  const headers = frames.filter((f) => f.type === FrameType.ObjectHeader).length;
  assert.ok(headers <= 2 + 23 * depth, `padding stays bounded: ${headers} header frames`);
});

test('every object has two header copies at least `depth` frames apart, the first before its data', async () => {
  const depth = 8;
  const { sink, frames } = wire();
  const interleaver = new Interleaver(new FrameEmitter(1, sink, new TokenBucket(1e12)), depth);
  // Every fourth object is empty: its second copy takes the place of a block.
  const size = (id: number) => (id % 4 === 0 ? 0 : 64 * 3);
  for (let id = 1; id <= 16; id++) await sendObject(interleaver, id, header(size(id), 64), [randomBytes(size(id))], 1);
  await interleaver.flush();
  for (let id = 1; id <= 16; id++) {
    const at = frames.flatMap((f, i) => (f.objectId === id && f.type === FrameType.ObjectHeader ? [i] : []));
    const data = frames.flatMap((f, i) => (f.objectId === id && f.type !== FrameType.ObjectHeader ? [i] : []));
    assert.ok(at.length >= 2, `object ${id}`);
    assert.ok(at[1]! - at[0]! >= depth, `object ${id}: copies at ${at}`);
    if (size(id) > 0) assert.ok(at[0]! < data[0]!, `object ${id}: header first`);
  }
});

/** mulberry32: the same seed gives the same tree, so a failure can be replayed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** Objects sent as a first send of a large file (the hash follows the data), and where on the wire the header copies with a hash are. */
interface HashFollows {
  objects: Set<number>;
  copies: Set<number>;
}

/**
 * Every place a burst of `burst` consecutive lost frames can fall on `frames`, and whether each
 * object survives it, modelled as the receiver works: an object needs one header copy; a data
 * frame that comes before any header copy waits in the orphan buffer, a parity frame does not
 * (it is dropped); a block of k' data and m' parity frames is rebuilt from any k' of them.
 * Returns the first object lost and where, or undefined.
 */
function firstLoss(frames: readonly FrameHeader[], chunkCounts: ReadonlyMap<number, number>, k: number, m: number, burst: number, hash?: HashFollows): string | undefined {
  interface Block { data: number; parity: number; positions: number[]; parityPositions: number[] }
  const objects = new Map<number, { headers: number[]; blocks: Map<number, Block> }>();
  for (const [id, chunks] of chunkCounts) {
    const blocks = new Map<number, Block>();
    for (let b = 0; b < fecBlockCount({ k, m }, chunks); b++) {
      const { count } = fecBlockRange({ k, m }, chunks, b);
      blocks.set(b, { data: count, parity: fecParityCount({ k, m }, count), positions: [], parityPositions: [] });
    }
    objects.set(id, { headers: [], blocks });
  }
  frames.forEach((f, i) => {
    const o = objects.get(f.objectId)!;
    if (f.type === FrameType.ObjectHeader) return void o.headers.push(i);
    const block = o.blocks.get(f.type === FrameType.Parity ? f.chunkIndex : Math.floor(f.chunkIndex / k))!;
    block.positions.push(i);
    if (f.type === FrameType.Parity) block.parityPositions.push(i);
  });
  for (const [id, o] of objects) {
    for (const [b, block] of o.blocks) assert.equal(block.positions.length, block.data + block.parity, `object ${id} block ${b} on the wire whole`);
  }
  for (let start = 0; start === 0 || start + burst <= frames.length; start++) {
    const end = start + burst;
    const lost = (i: number) => i >= start && i < end;
    for (const id of new Set(frames.slice(start, end).map((f) => f.objectId))) {
      const o = objects.get(id)!;
      const header = o.headers.find((i) => !lost(i));
      if (header === undefined) return `object ${id}: every header copy in the burst at ${start}`;
      if (hash?.objects.has(id) && !o.headers.some((i) => hash.copies.has(i) && !lost(i))) return `object ${id}: every copy of the header with its hash in the burst at ${start}`;
      for (const [b, block] of o.blocks) {
        const missing = block.positions.filter(lost).length + block.parityPositions.filter((i) => !lost(i) && i < header).length;
        if (missing > block.parity) return `object ${id} block ${b} (${block.data}+${block.parity}): ${missing} frames lost to the burst at ${start}`;
      }
    }
  }
  return undefined;
}

test('no burst of up to `depth` frames takes a whole object: trees of small files (0..30 chunks) among larger ones, some whose hash follows their data', async () => {
  const chunkSize = 64;
  let hashFollowed = 0;
  for (const [k, m, depth] of [[20, 4, 16], [20, 4, 5], [5, 1, 16], [24, 6, 8], [1, 1, 3]] as const) {
    for (let seed = 1; seed <= 6; seed++) {
      const random = prng(seed * 1000 + k * 10 + depth);
      const hash: HashFollows = { objects: new Set(), copies: new Set() };
      const { sink, frames } = wire((f) => {
        if (f.header.type === FrameType.ObjectHeader && decodeObjectHeader(f.payload).sha256) hash.copies.add(frames.length - 1);
      });
      const interleaver = new Interleaver(new FrameEmitter(1, sink, new TokenBucket(1e12)), depth);
      const chunkCounts = new Map<number, number>();
      for (let id = 1; id <= 60; id++) {
        const kind = random();
        const chunks = kind < 0.1 ? 0 : kind < 0.25 ? 31 + Math.floor(random() * 150) : 1 + Math.floor(random() * 30);
        const size = chunks === 0 ? 0 : (chunks - 1) * chunkSize + 1 + Math.floor(random() * chunkSize);
        chunkCounts.set(id, chunks);
        const full = { ...header(size, chunkSize), fecK: k, fecM: m };
        if (chunks > 30 && random() < 0.5) {
          hash.objects.add(id);
          hashFollowed++;
          await sendObject(interleaver, id, { ...full, sha256: undefined }, [randomBytes(size)], 1, async () => full);
        } else await sendObject(interleaver, id, full, [randomBytes(size)], 1);
        if (random() < 0.1) await interleaver.flush(); // the end of a pass, or a sleep in watch mode
      }
      await interleaver.flush();
      for (let burst = 1; burst <= depth; burst++) {
        const loss = firstLoss(frames, chunkCounts, k, m, burst, hash);
        assert.equal(loss, undefined, `${k}+${m}, depth ${depth}, seed ${seed}, burst ${burst}: ${loss}`);
      }
    }
  }
  assert.ok(hashFollowed >= 30, `${hashFollowed} objects whose hash followed`);
});
