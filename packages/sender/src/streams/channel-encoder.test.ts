import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameType, StreamKind, decodeDatagram, decodeStreamRecord, type StreamRecord } from '@diodesync/protocol';
import { FrameEmitter } from '../framing/frame-emitter.js';
import type { FrameSink } from '../transport/frame-sink.js';
import { TokenBucket } from '../transport/rate-limiter.js';
import { ChannelEncoder } from './channel-encoder.js';
import { StreamOutbox } from './stream-outbox.js';

/** A sink that keeps each frame's type and, for Stream frames, its record. */
function wire(): { sink: FrameSink; frames: { type: number; record?: StreamRecord }[] } {
  const frames: { type: number; record?: StreamRecord }[] = [];
  const sink: FrameSink = {
    description: 'memory',
    send: (parts) => {
      const r = decodeDatagram(Buffer.concat(parts));
      assert.ok(r.ok);
      const { type } = r.frame.header;
      frames.push(type === FrameType.Stream ? { type, record: decodeStreamRecord(r.frame.payload) } : { type });
      return undefined;
    },
    flush: async () => undefined,
    close: async () => undefined,
  };
  return { sink, frames };
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('records go in sequence; each block (closed by K or by the flush timer) is followed by its parity, spread and never ahead of the block', async () => {
  const { sink, frames } = wire();
  const emitter = new FrameEmitter(1, sink, new TokenBucket(1e9));
  const outbox = new StreamOutbox(emitter, 1e9, 1 << 20, (err) => assert.fail(err));
  const channel = new ChannelEncoder('syslog', { k: 4, m: 2 }, 15, outbox, 1424);
  for (let i = 0; i < 10; i++) assert.ok(channel.datagram(Buffer.from(`line ${i}`)));
  await settle(60); // blocks 0-3 and 4-7 by size, 8-9 by the timer
  await channel.flush();
  await outbox.drained();
  const records = frames.map((f) => f.record!);
  const data = records.filter((r) => r.kind === StreamKind.Datagram);
  assert.deepEqual(data.map((r) => r.sequence), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(data.map((r) => r.fecIndex), [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]);
  const parity = records.filter((r) => r.kind === StreamKind.Parity);
  assert.deepEqual(parity.map((r) => [r.sequence, r.fecCount, r.parityCount, r.fecIndex]), [[0, 4, 2, 4], [0, 4, 2, 5], [4, 4, 2, 4], [4, 4, 2, 5], [8, 2, 1, 2]]);
  for (const p of parity) {
    const at = records.indexOf(p);
    const lastOfBlock = records.findIndex((r) => r.kind === StreamKind.Datagram && r.sequence === p.sequence + p.fecCount - 1);
    assert.ok(at > lastOfBlock, `parity of block ${p.sequence} after its last record`);
  }
  assert.equal(channel.counts.blocks, 3);
});

test('a datagram longer than one record goes as consecutive pieces, the last a Datagram, each with its index', async () => {
  const { sink, frames } = wire();
  const emitter = new FrameEmitter(1, sink, new TokenBucket(1e9));
  const outbox = new StreamOutbox(emitter, 1e9, 1 << 20, (err) => assert.fail(err));
  const channel = new ChannelEncoder('syslog', { k: 20, m: 4 }, 20, outbox, 1424);
  assert.ok(channel.maxData > 1300 && channel.maxData < 1424 - 38);
  const big = Buffer.from(Array.from({ length: 60_000 }, (_, i) => i % 251));
  assert.ok(channel.datagram(big));
  assert.ok(channel.datagram(Buffer.from('small')));
  await channel.flush();
  await outbox.drained();
  const data = frames.map((f) => f.record!).filter((r) => r.kind !== StreamKind.Parity);
  const pieces = Math.ceil(60_000 / channel.maxData);
  assert.equal(data.length, pieces + 1);
  assert.deepEqual(data.map((r) => r.kind), [...Array(pieces - 1).fill(StreamKind.DatagramPart), StreamKind.Datagram, StreamKind.Datagram]);
  assert.deepEqual(data.map((r) => r.session), [...Array.from({ length: pieces }, (_, i) => i), 0]);
  assert.ok(Buffer.concat(data.slice(0, pieces).map((r) => r.data)).equals(big));
  assert.equal(channel.counts.split, 1);
  assert.equal(channel.counts.messagesIn, 2);
});

test('a quiet channel sends each record again (--forward-copies), spaced apart and announced in the record; a busy one does not', async () => {
  const { sink, frames } = wire();
  const emitter = new FrameEmitter(1, sink, new TokenBucket(1e9));
  const outbox = new StreamOutbox(emitter, 1e9, 1 << 20, (err) => assert.fail(err));
  const channel = new ChannelEncoder('alarm', { k: 0, m: 0 }, 20, outbox, 1424, { copies: 3, spacingMs: 10, quietPerSecond: 5 });
  channel.datagram(Buffer.from('a'));
  await settle(40);
  const copies = frames.map((f) => f.record!).filter((r) => r.sequence === 0);
  assert.equal(copies.length, 3);
  assert.ok(copies.every((r) => r.copySpan === 20 && r.data.toString() === 'a'));
  for (let i = 0; i < 20; i++) channel.datagram(Buffer.from(`b${i}`));
  await channel.flush();
  await outbox.drained();
  const sent = frames.map((f) => f.record!);
  // At most 5 records a second are copied: the burst's later records go once.
  assert.ok(sent.filter((r) => r.sequence === 20).length === 1 && sent.find((r) => r.sequence === 20)!.copySpan === 0);
  assert.ok(channel.counts.copies >= 2 && channel.counts.copies <= 2 + 2 * 5, String(channel.counts.copies));
});

test('stream frames pass file frames that wait for the rate limiter', async () => {
  const { sink, frames } = wire();
  const emitter = new FrameEmitter(1, sink, new TokenBucket(800_000)); // 100 kB/s: each 1 kB file frame waits ~10 ms
  const files = (async () => {
    for (let i = 0; i < 20; i++) await emitter.emit({ type: FrameType.Data }, Buffer.alloc(1000));
  })();
  await settle(50);
  const outbox = new StreamOutbox(emitter, 1e9, 1 << 20, (err) => assert.fail(err));
  const channel = new ChannelEncoder('alarm', { k: 0, m: 0 }, 20, outbox, 1424);
  channel.datagram(Buffer.from('now'));
  await outbox.drained();
  const at = frames.findIndex((f) => f.type === FrameType.Stream);
  assert.ok(at >= 0 && at < 12, `the stream frame went at position ${at} of the 21, not after the files`);
  await files;
});
