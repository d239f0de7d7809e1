import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamKind, decodeStreamRecord, encodeStreamRecord, streamBlockParity } from '@diodesync/protocol';
import type { ChannelOutlet } from './channel-outlet.js';
import { ChannelReceiver } from './channel-receiver.js';

/** What reached the outlet, in order. */
class RecordingOutlet implements ChannelOutlet {
  readonly description = 'memory';
  readonly events: string[] = [];
  datagram(data: Buffer) { this.events.push(`d:${data}`); }
  open(s: number) { this.events.push(`open:${s}`); }
  data(s: number, data: Buffer) { this.events.push(`data:${s}:${data}`); }
  close(s: number) { this.events.push(`close:${s}`); }
  abort(s: number) { this.events.push(`abort:${s}`); }
  async stop() {}
}

type Spec = { kind: StreamKind; session?: number; data?: string };

/** The frames a sender makes for `specs`: records in blocks of `k`, each block followed by `m` parity records. */
async function wire(specs: Spec[], k: number, m: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let first = 0; first < specs.length; first += k) {
    const block = specs.slice(first, first + k).map((s, i) => encodeStreamRecord({
      kind: s.kind, channel: 'c', sequence: first + i, session: s.session ?? 0, fecIndex: i, fecCount: 0, parityCount: 0, sentAt: Date.now(), data: Buffer.from(s.data ?? ''),
    }));
    out.push(...block);
    const parity = await streamBlockParity(block, m);
    parity.forEach((shard, j) => out.push(encodeStreamRecord({
      kind: StreamKind.Parity, channel: 'c', sequence: first, session: 0, fecIndex: block.length + j, fecCount: block.length, parityCount: m, sentAt: Date.now(), data: shard,
    })));
  }
  return out;
}

const settle = (ms = 30) => new Promise((r) => setTimeout(r, ms));
const datagrams = (n: number): Spec[] => Array.from({ length: n }, (_, i) => ({ kind: StreamKind.Datagram, data: `m${i}` }));

test('lost and reordered datagrams come out once, in order, rebuilt from parity', async () => {
  const frames = await wire(datagrams(100), 10, 2);
  const outlet = new RecordingOutlet();
  const rx = new ChannelReceiver('c', outlet, { gapWaitMs: 500, window: 1000 });
  // Lose two of every block's 12 frames (data or parity), swap neighbours, duplicate some.
  const kept = frames.filter((_, i) => i % 12 !== 3 && i % 12 !== 8);
  for (let i = 0; i + 1 < kept.length; i += 5) [kept[i], kept[i + 1]] = [kept[i + 1]!, kept[i]!];
  for (const f of [...kept, ...kept.slice(0, 20)]) rx.take(7, decodeStreamRecord(f), f);
  await settle();
  assert.deepEqual(outlet.events, datagrams(100).map((s) => `d:${s.data}`));
  assert.equal(rx.counts.gaps, 0);
  assert.ok(rx.counts.repaired >= 10, JSON.stringify(rx.counts));
  assert.ok(rx.counts.duplicates >= 15, JSON.stringify(rx.counts)); // the 20 repeated frames hold a few parity frames
});

test('a gap beyond repair is given up once, as a range, and delivery goes on', async () => {
  const frames = await wire(datagrams(30), 10, 1);
  const outlet = new RecordingOutlet();
  const rx = new ChannelReceiver('c', outlet, { gapWaitMs: 5_000, window: 1000 });
  // Block 1 (records 10..19, frames 11..21) loses records 12 and 13: one parity cannot rebuild two.
  for (const [i, f] of frames.entries()) if (i !== 13 && i !== 14) rx.take(7, decodeStreamRecord(f), f);
  await settle();
  // Given up at once, without waiting gapWaitMs: the parity of the block after it had come.
  const expected = datagrams(30).filter((_, i) => i !== 12 && i !== 13).map((s) => `d:${s.data}`);
  assert.deepEqual(outlet.events, expected);
  assert.equal(rx.counts.gaps, 1);
  assert.equal(rx.counts.lost, 2);
});

test('a gap with nothing after it waits gapWaitMs, then is given up', async () => {
  const frames = await wire(datagrams(5), 20, 1);
  const outlet = new RecordingOutlet();
  const rx = new ChannelReceiver('c', outlet, { gapWaitMs: 80, window: 1000 });
  for (const i of [0, 3, 4]) rx.take(7, decodeStreamRecord(frames[i]!), frames[i]!); // parity lost too
  await settle(20);
  assert.deepEqual(outlet.events, ['d:m0']);
  await settle(150);
  assert.deepEqual(outlet.events, ['d:m0', 'd:m3', 'd:m4']);
  assert.equal(rx.counts.lost, 2);
});

test('a TCP session that loses records is cut, never delivered with a hole; the next session starts clean', async () => {
  const specs: Spec[] = [
    { kind: StreamKind.Open, session: 1 }, { kind: StreamKind.Data, session: 1, data: 'a' }, { kind: StreamKind.Data, session: 1, data: 'b' },
    { kind: StreamKind.Data, session: 1, data: 'c' }, { kind: StreamKind.Close, session: 1 },
    { kind: StreamKind.Open, session: 2 }, { kind: StreamKind.Data, session: 2, data: 'x' }, { kind: StreamKind.Close, session: 2 },
  ];
  const frames = await wire(specs, 4, 1);
  const outlet = new RecordingOutlet();
  const rx = new ChannelReceiver('c', outlet, { gapWaitMs: 50, window: 1000 });
  // Records 1 and 2 (data a, b) lost: block 0 keeps 2 of 4 records and its one parity.
  for (const [i, f] of frames.entries()) if (i !== 1 && i !== 2) rx.take(7, decodeStreamRecord(f), f);
  await settle(120);
  assert.deepEqual(outlet.events, ['open:1', 'abort:1', 'open:2', 'data:2:x', 'close:2']);
  assert.equal(rx.counts.sessionsBroken, 1);
  assert.ok(rx.counts.orphanRecords >= 1, 'the rest of the cut session was dropped');
});

test('a new sender session starts the numbering again and cuts the old sessions', async () => {
  const first = await wire([{ kind: StreamKind.Open, session: 1 }, { kind: StreamKind.Data, session: 1, data: 'a' }], 20, 1);
  const second = await wire(datagrams(3), 20, 1);
  const outlet = new RecordingOutlet();
  const rx = new ChannelReceiver('c', outlet);
  for (const f of first) rx.take(1, decodeStreamRecord(f), f);
  for (const f of second) rx.take(2, decodeStreamRecord(f), f);
  assert.deepEqual(outlet.events, ['open:1', 'data:1:a', 'abort:1', 'd:m0', 'd:m1', 'd:m2']);
  assert.equal(rx.counts.senderRestarts, 1);
  await rx.stop();
});

test('forged parity far ahead is refused and counted; records held beyond a gap are bounded by the window', async () => {
  const outlet = new RecordingOutlet();
  const rx = new ChannelReceiver('c', outlet, { gapWaitMs: 10_000, window: 50 });
  const first = (await wire(datagrams(1), 20, 1))[0]!;
  rx.take(7, decodeStreamRecord(first), first);
  for (let i = 0; i < 1000; i++) {
    const forged = encodeStreamRecord({ kind: StreamKind.Parity, channel: 'c', sequence: 1000 + i * 97, session: 0, fecIndex: 20, fecCount: 20, parityCount: 4, sentAt: 0, data: Buffer.alloc(1024) });
    rx.take(7, decodeStreamRecord(forged), forged);
  }
  assert.equal(rx.counts.badParity, 1000);
  // A hole at 1, then 60 records: the window (50) gives the hole up without waiting.
  for (let s = 2; s < 62; s++) {
    const r = encodeStreamRecord({ kind: StreamKind.Datagram, channel: 'c', sequence: s, session: 0, fecIndex: s % 20, fecCount: 0, parityCount: 0, sentAt: 0, data: Buffer.from(`m${s}`) });
    rx.take(7, decodeStreamRecord(r), r);
  }
  assert.equal(rx.counts.gaps, 1);
  assert.equal(outlet.events.length, 61);
  await rx.stop();
});

/** One record of channel 'c' as the sender encodes it (no FEC). */
const rec = (sequence: number, kind: StreamKind, data: Buffer | string, o: { session?: number; sentAt?: number; copySpan?: number } = {}) => encodeStreamRecord({
  kind, channel: 'c', sequence, session: o.session ?? 0, fecIndex: 0, fecCount: 0, parityCount: 0, sentAt: o.sentAt ?? Date.now(), copySpan: o.copySpan ?? 0,
  data: Buffer.from(data),
});

test('the pieces of a long datagram are joined into one; a datagram that lost a piece is dropped, never delivered short', async () => {
  const big = Buffer.from(Array.from({ length: 60_000 }, (_, i) => i % 253));
  const piece = 1400;
  const pieces = Math.ceil(big.length / piece);
  const frames = Array.from({ length: pieces }, (_, i) => rec(i, i === pieces - 1 ? StreamKind.Datagram : StreamKind.DatagramPart, big.subarray(i * piece, (i + 1) * piece), { session: i }));
  frames.push(rec(pieces, StreamKind.Datagram, 'after'));
  const delivered: Buffer[] = [];
  const outlet = Object.assign(new RecordingOutlet(), { datagram: (d: Buffer) => void delivered.push(d) });
  const rx = new ChannelReceiver('c', outlet, { gapWaitMs: 5_000, window: 1000 });
  for (const f of frames) rx.take(7, decodeStreamRecord(f), f);
  assert.equal(delivered.length, 2);
  assert.ok(delivered[0]!.equals(big));
  assert.equal(delivered[1]!.toString(), 'after');
  assert.equal(rx.counts.joined, 1);
  assert.equal(rx.counts.messagesOut, 2);
  // A new sender session loses piece 3 (uncoded: given up when piece 4 comes): the rest of that datagram is dropped.
  delivered.length = 0;
  for (const [i, f] of frames.entries()) if (i !== 3) rx.take(8, decodeStreamRecord(f), f);
  assert.deepEqual(delivered.map(String), ['after']);
  assert.equal(rx.counts.gaps, 1);
  assert.ok(rx.counts.orphanRecords >= pieces - 4, JSON.stringify(rx.counts));
});

test('copies of a record are delivered once; a hole waits for its copy while later records are younger than its copy span', async () => {
  const outlet = new RecordingOutlet();
  const rx = new ChannelReceiver('c', outlet, { gapWaitMs: 5_000, window: 1000 });
  const t0 = Date.now();
  const r0 = rec(0, StreamKind.Datagram, 'a', { sentAt: t0, copySpan: 20 });
  const r1 = rec(1, StreamKind.Datagram, 'b', { sentAt: t0 + 1, copySpan: 20 });
  const r2 = rec(2, StreamKind.Datagram, 'c', { sentAt: t0 + 2, copySpan: 20 });
  const r3 = rec(3, StreamKind.Datagram, 'd', { sentAt: t0 + 50, copySpan: 20 });
  const take = (f: Buffer) => rx.take(7, decodeStreamRecord(f), f);
  // r1 is lost the first time; r2 comes: the hole waits (its copy may come), then the copies come.
  for (const f of [r0, r2, r0, r1, r2, r1]) take(f);
  assert.deepEqual(outlet.events, ['d:a', 'd:b', 'd:c']);
  assert.equal(rx.counts.duplicates, 3);
  assert.equal(rx.counts.gaps, 0);
  // A record lost with all its copies: given up once a record made after its copy span arrives.
  const r4 = rec(4, StreamKind.Datagram, 'e', { sentAt: t0 + 51, copySpan: 20 });
  const r5 = rec(5, StreamKind.Datagram, 'f', { sentAt: t0 + 52, copySpan: 20 });
  const r6 = rec(6, StreamKind.Datagram, 'g', { sentAt: t0 + 100, copySpan: 20 });
  for (const f of [r3, r5, r5]) take(f);
  assert.deepEqual(outlet.events.slice(3), ['d:d'], 'r5 waits for a copy of r4');
  take(r6);
  assert.deepEqual(outlet.events.slice(3), ['d:d', 'd:f', 'd:g']);
  assert.equal(rx.counts.gaps, 1);
  await rx.stop();
});

test('a record is delivered as soon as it and all before it came, not when its block closes', async () => {
  const frames = await wire(datagrams(20), 10, 2);
  const outlet = new RecordingOutlet();
  const rx = new ChannelReceiver('c', outlet, { gapWaitMs: 5_000, window: 1000 });
  // The first three records of block 0 (ten records, then its parity): each goes out on arrival.
  for (let i = 0; i < 3; i++) {
    rx.take(7, decodeStreamRecord(frames[i]!), frames[i]!);
    assert.deepEqual(outlet.events, datagrams(i + 1).map((s) => `d:${s.data}`), `record ${i} at once`);
  }
  // Record 4 before 3: held only until 3 comes.
  rx.take(7, decodeStreamRecord(frames[4]!), frames[4]!);
  assert.equal(outlet.events.length, 3);
  rx.take(7, decodeStreamRecord(frames[3]!), frames[3]!);
  assert.deepEqual(outlet.events, datagrams(5).map((s) => `d:${s.data}`));
  await rx.stop();
});
