import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FrameType, HEADER_SIZE, MAGIC } from './constants.js';
import { StreamDeframer } from './deframer.js';
import { encodeFrame, type Frame } from './superframe.js';

function makeFrames(count: number, seed = 0): Buffer[] {
  return Array.from({ length: count }, (_, i) =>
    encodeFrame({ type: FrameType.Data, sessionId: 1, sequence: seed + i, objectId: 7, chunkIndex: i }, randomBytes((i * 37) % 1500)));
}

function feed(deframer: StreamDeframer, stream: Buffer, sizes: () => number): Frame[] {
  const out: Frame[] = [];
  for (let pos = 0; pos < stream.length; ) {
    const n = Math.max(1, sizes());
    out.push(...deframer.push(stream.subarray(pos, pos + n)));
    pos += n;
  }
  return out;
}

test('1-byte chunks yield every frame, in order', () => {
  const frames = makeFrames(50);
  const d = new StreamDeframer();
  const out = feed(d, Buffer.concat(frames), () => 1);
  assert.equal(out.length, 50);
  out.forEach((f, i) => assert.equal(f.header.sequence, i));
  assert.equal(d.counters.bytesSkipped, 0);
  assert.equal(d.pendingBytes, 0);
});

test('random chunk sizes yield every frame with its payload intact', () => {
  const frames = makeFrames(300);
  const d = new StreamDeframer();
  const out = feed(d, Buffer.concat(frames), () => Math.floor(Math.random() * 5000));
  assert.equal(out.length, 300);
  out.forEach((f, i) => assert.deepEqual(Buffer.concat([frames[i]!.subarray(0, HEADER_SIZE), f.payload]), frames[i]));
});

test('garbage between frames is skipped and counted; the next good frame is found', () => {
  const frames = makeFrames(40);
  const parts: Buffer[] = [];
  let garbage = 0;
  frames.forEach((f, i) => {
    const junk = randomBytes(i % 3 === 0 ? 100 : 0);
    // Garbage that even contains a marker must not derail the deframer.
    const junkWithMarker = i % 5 === 0 ? Buffer.concat([junk, MAGIC, randomBytes(60)]) : junk;
    garbage += junkWithMarker.length;
    parts.push(junkWithMarker, f);
  });
  const d = new StreamDeframer();
  const out = feed(d, Buffer.concat(parts), () => Math.floor(Math.random() * 700));
  assert.equal(out.length, 40);
  assert.equal(d.counters.bytesSkipped, garbage);
});

test('a flipped bit drops only its own frame, counted by reason', () => {
  const frames = makeFrames(30);
  const damaged = new Set([3, 10, 17]);
  const stream = Buffer.concat(frames.map((f, i) => {
    if (!damaged.has(i)) return f;
    const bad = Buffer.from(f);
    const at = i === 3 ? 20 : 48 + Math.floor((f.length - 48) / 2); // header of #3, payloads of the others
    bad[at]! ^= 0x10;
    return bad;
  }));
  for (const size of [1, 13, 4096]) {
    const d = new StreamDeframer();
    const out = feed(d, stream, () => size);
    assert.deepEqual(out.map((f) => f.header.sequence), [...Array(30).keys()].filter((i) => !damaged.has(i)));
    assert.equal(d.counters.drops['header-crc'], 1);
    assert.equal(d.counters.drops['payload-crc'], 2);
  }
});

test('a truncated frame costs only itself: the frame after it is recovered', () => {
  const frames = makeFrames(5);
  const cut = frames[2]!.subarray(0, frames[2]!.length - 30);
  const d = new StreamDeframer();
  const out = feed(d, Buffer.concat([frames[0]!, frames[1]!, cut, frames[3]!, frames[4]!]), () => 97);
  assert.deepEqual(out.map((f) => f.header.sequence), [0, 1, 3, 4]);
});
