import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { setImmediate as turn } from 'node:timers/promises';
import { FrameType, HEADER_SIZE, decodeDatagram } from '@diodesync/protocol';
import { TokenBucket } from '../transport/rate-limiter.js';
import type { FrameSink } from '../transport/frame-sink.js';
import { UdpSink } from '../transport/udp-sink.js';
import { FrameEmitter } from './frame-emitter.js';

/** A batching sink, as UdpSink: frames written in place; it notes when each was committed and what each submit took. */
function batchingSink() {
  const batch = Buffer.alloc(1024 * 1024);
  const commits: { at: number; bytes: number }[] = [];
  const frames: Buffer[] = [];
  let start = 0;
  let end = 0;
  let reserved = 0;
  const sink: FrameSink = {
    description: 'batching',
    batch,
    reserve(length) {
      if (end + length > batch.length) start = end = 0;
      reserved = length;
      return end;
    },
    commit() {
      frames.push(Buffer.from(batch.subarray(end, end + reserved)));
      end += reserved;
      commits.push({ at: performance.now(), bytes: reserved });
      return undefined;
    },
    submit() {
      start = end;
      return undefined;
    },
    send: () => assert.fail('unsealed frames are written in place'),
    flush: async () => undefined,
    close: async () => undefined,
  };
  return { sink, commits, frames, submitted: () => start };
}

/** Keeps the main thread busy for `ms` (hashing a file, coding parity): frames written before wait in the batch. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/** The most bytes above the rate in any interval, from (time, bytes) in time order: max over j of (B(j) - rate*t_j) - min over i <= j of (B(i-1) - rate*t_i). */
function worstBurst(sent: readonly { at: number; bytes: number }[], bytesPerMs: number): number {
  let before = 0;
  let lowest = Infinity;
  let worst = 0;
  for (const { at, bytes } of sent) {
    lowest = Math.min(lowest, before - bytesPerMs * at);
    before += bytes;
    worst = Math.max(worst, before - bytesPerMs * at - lowest);
  }
  return worst;
}

test('frames written in place decode, in sequence order, with their fields and payload', async () => {
  const { sink, frames } = batchingSink();
  const emitter = new FrameEmitter(0x1234, sink, new TokenBucket(1e12));
  for (let i = 0; i < 100; i++) await emitter.emit({ type: FrameType.Data, objectId: 7, chunkIndex: i, pass: 1 }, Buffer.alloc(i * 10, i));
  assert.equal(frames.length, 100);
  frames.forEach((bytes, i) => {
    const result = decodeDatagram(bytes);
    assert.ok(result.ok, `frame ${i}`);
    assert.equal(result.frame.header.sequence, i);
    assert.equal(result.frame.header.sessionId, 0x1234);
    assert.equal(result.frame.header.chunkIndex, i);
    assert.ok(result.frame.payload.equals(Buffer.alloc(i * 10, i)));
  });
  assert.equal(emitter.bytesSent, frames.reduce((n, f) => n + f.length, 0));
});

test('charged per grant, not per frame: never ahead of the rate, never a burst above the bucket\'s', async () => {
  const bitsPerSecond = 100e6;
  const bytesPerMs = bitsPerSecond / 8 / 1000;
  const burst = bytesPerMs * 5; // TokenBucket's 5 ms
  const { sink, commits } = batchingSink();
  const emitter = new FrameEmitter(1, sink, new TokenBucket(bitsPerSecond));
  const payload = Buffer.alloc(1424);
  const frameBytes = HEADER_SIZE + payload.length;
  const started = performance.now();
  // 0.5 s of traffic at 100 Mb/s.
  const frames = Math.round((bytesPerMs * 500) / frameBytes);
  for (let i = 0; i < frames; i++) {
    const wait = emitter.emit({ type: FrameType.Data, objectId: 1, chunkIndex: i }, payload);
    if (wait) await wait;
  }
  const ms = performance.now() - started;
  assert.ok(ms >= 500 - 5 - 1, `${frames} frames in ${ms.toFixed(1)} ms: faster than the rate`);
  assert.ok(ms < 5_000, `${ms.toFixed(1)} ms`);
  // In any interval, bytes <= burst + rate * interval, plus two frames (one that waited for its
  // tokens and went late, part of its cost paid before the interval; one on credit). Measured at
  // commit, a process descheduled in the middle of a grant commits the rest of it late, next to
  // the following grant: hence twice the burst. A grant not charged, or credit kept past a
  // refill, would pass that bound within the 0.5 s.
  const worst = worstBurst(commits, bytesPerMs);
  assert.ok(worst <= 2 * (burst + frameBytes), `a burst of ${worst.toFixed(0)} bytes above the rate, the bucket allows ${burst} (twice that, for a process descheduled mid-grant)`);
});

test('a batch held while the main thread works, then one written at once: together no bigger a burst than the bucket allows (UDP)', async (t) => {
  const receiver = dgram.createSocket('udp4');
  t.after(() => receiver.close());
  await new Promise<void>((resolve) => receiver.bind(0, '127.0.0.1', resolve));
  const sink = await UdpSink.open('127.0.0.1', receiver.address().port);
  t.after(() => sink.close());
  const bitsPerSecond = 100e6;
  const bytesPerMs = bitsPerSecond / 8 / 1000;
  const burst = bytesPerMs * 5; // TokenBucket's 5 ms: 62,500 bytes
  const emitter = new FrameEmitter(1, sink, new TokenBucket(bitsPerSecond));
  // What leaves, and when: the emitter's own hook, timed as the limiter counts it.
  const sent: { at: number; bytes: number }[] = [];
  const paced = sink.onSubmit;
  sink.onSubmit = (bytes) => {
    sent.push({ at: performance.now(), bytes });
    paced?.(bytes);
  };
  const payload = Buffer.alloc(1424);
  const frameBytes = HEADER_SIZE + payload.length;
  let chunk = 0;
  const write = async (frames: number) => {
    for (let i = 0; i < frames; i++) {
      const wait = emitter.emit({ type: FrameType.Data, objectId: 1, chunkIndex: chunk++ }, payload);
      if (wait) await wait;
    }
  };
  for (let round = 0; round < 20; round++) {
    // 40 frames (58,880 bytes) written, then 5 ms of work while they wait in the batch; it leaves
    // when the event loop turns, and 40 more are written at once after it.
    await write(40);
    busy(5);
    await turn();
    await write(40);
    await turn();
  }
  await emitter.flush();
  const worst = worstBurst(sent, bytesPerMs);
  // Counted as they leave: a held batch's wait refilled the bucket as if it had gone, and the next
  // 40 frames followed it at once (about twice the burst).
  assert.ok(worst <= burst + 2 * frameBytes, `a burst of ${worst.toFixed(0)} bytes above the rate; the bucket allows ${burst}`);
});
