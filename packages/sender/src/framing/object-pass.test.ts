import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FrameType, type ObjectHeader } from '@diodesync/protocol';
import { TokenBucket } from '../transport/rate-limiter.js';
import { FrameEmitter } from './frame-emitter.js';
import { ObjectPasses } from './object-pass.js';
import { memoryWire } from './memory-wire.test-support.js';
import { sendObject } from './object-sender.js';

const wire = memoryWire;

const header = (size: number): ObjectHeader => ({
  kind: 'file', path: 'x', size, mtimeMs: 0, mode: 0o644, sha256: Buffer.alloc(32), chunkSize: 64,
  chunkCount: Math.ceil(size / 64), version: 1, fecK: 4, fecM: 1,
});
const options = { chunkSize: 64, fec: { k: 4, m: 1 }, interleave: 8 };

test('a pass ends with every frame on the wire and its sends reported, however few blocks it held', async () => {
  const { sink, frames } = wire();
  const ends: number[] = [];
  const passes = new ObjectPasses(new FrameEmitter(1, sink, new TokenBucket(1e12)), options, new AbortController().signal, () => ends.push(frames.length));
  const sent: number[] = [];
  // Two small objects: far fewer blocks than the interleaving depth, so the interleaver would hold them.
  const result = await passes.run(async (out) => {
    for (const id of [1, 2]) {
      await sendObject(out, id, header(64 * 3), [randomBytes(64 * 3)], 1);
      out.whenSent(() => sent.push(id));
    }
    assert.equal(frames.filter((f) => f.type !== FrameType.ObjectHeader).length, 0, 'held in the interleaver during the pass');
    return 'done';
  });
  assert.equal(result, 'done');
  assert.equal(frames.filter((f) => f.type !== FrameType.ObjectHeader).length, 2 * 4);
  assert.deepEqual(sent, [1, 2]);
  assert.deepEqual(ends, [frames.length], 'afterPass runs once, after the last frame');
});

test('a stopped pass drops what the interleaver held: no send reported for it, afterPass still runs', async () => {
  const { sink, frames } = wire();
  const stop = new AbortController();
  let ends = 0;
  const passes = new ObjectPasses(new FrameEmitter(1, sink, new TokenBucket(1e12)), options, stop.signal, () => ends++);
  const sent: number[] = [];
  await passes.run(async (out) => {
    await sendObject(out, 1, header(64 * 3), [randomBytes(64 * 3)], 1);
    out.whenSent(() => sent.push(1));
    stop.abort();
  });
  assert.equal(sent.length, 0);
  assert.equal(ends, 1);
  assert.equal(frames.filter((f) => f.type !== FrameType.ObjectHeader).length, 0);
  // The next pass starts empty.
  await passes.run(async (out) => out.whenSent(() => sent.push(2)));
  assert.deepEqual(sent, [2]);
});

test('without FEC frames are not interleaved: they leave as they are handed over', async () => {
  const { sink, frames } = wire();
  const passes = new ObjectPasses(new FrameEmitter(1, sink, new TokenBucket(1e12)), { ...options, fec: { k: 0, m: 0 } }, new AbortController().signal, () => undefined);
  await passes.run(async (out) => {
    await sendObject(out, 1, { ...header(64 * 3), fecK: 0, fecM: 0 }, [randomBytes(64 * 3)], 1);
    assert.equal(frames.filter((f) => f.type === FrameType.Data).length, 3);
  });
});
