import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FrameType, decodeDatagram, type FrameHeader, type ObjectHeader } from '@diodesync/protocol';
import { FrameEmitter } from './frame-emitter.js';
import { Interleaver } from './interleaver.js';
import { sendObject } from './object-sender.js';
import { TokenBucket } from './rate-limiter.js';
import type { FrameSink } from './transport.js';

/** Frames on the wire, decoded, in order. */
function wire(): { sink: FrameSink; frames: FrameHeader[] } {
  const frames: FrameHeader[] = [];
  const sink: FrameSink = {
    description: 'memory',
    send: (parts) => {
      const result = decodeDatagram(Buffer.concat(parts));
      assert.ok(result.ok);
      frames.push(result.frame.header);
      return undefined;
    },
    flush: async () => undefined,
    close: async () => undefined,
  };
  return { sink, frames };
}

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
