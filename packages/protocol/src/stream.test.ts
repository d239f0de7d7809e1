import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ProtocolError } from './errors.js';
import {
  StreamKind, channelNameProblem, decodeStreamRecord, encodeStreamRecord, rebuildStreamBlock, streamBlockParity, type StreamRecord,
} from './stream.js';

const record = (sequence: number, data: Buffer, kind: StreamKind = StreamKind.Datagram, fecIndex = 0): StreamRecord => ({
  kind, channel: 'syslog', sequence, session: kind === StreamKind.Datagram ? 0 : 7, fecIndex, fecCount: 0, parityCount: 0, sentAt: 1_700_000_000_123.5, copySpan: 0, data,
});

test('a stream record round-trips, every field', () => {
  const r = record(2 ** 40 + 5, Buffer.from('<34>1 2026-11-27 host app - - hello'), StreamKind.Data, 3);
  assert.deepEqual(decodeStreamRecord(encodeStreamRecord(r)), r);
  const open = record(0, Buffer.alloc(0), StreamKind.Open);
  assert.deepEqual(decodeStreamRecord(encodeStreamRecord(open)), open);
});

test('a piece of a long datagram and a record with copies round-trip; an empty piece is refused', () => {
  const piece = { ...record(12, randomBytes(1300), StreamKind.DatagramPart), session: 3, copySpan: 10 };
  assert.deepEqual(decodeStreamRecord(encodeStreamRecord(piece)), piece);
  assert.throws(() => decodeStreamRecord(encodeStreamRecord({ ...piece, data: Buffer.alloc(0) })), ProtocolError);
});

test('bad records are refused with a ProtocolError, never thrown otherwise', () => {
  const good = encodeStreamRecord(record(9, Buffer.from('abc'), StreamKind.Datagram, 2));
  const bad: Buffer[] = [
    good.subarray(0, 10),
    Buffer.concat([good, Buffer.from([0])]), // trailing byte
    Object.assign(Buffer.from(good), { 0: 9 }), // kind
    Object.assign(Buffer.from(good), { 33: 0x2f }), // '/' in the name
    Object.assign(Buffer.from(good), { 3: 30 }), // FEC index beyond K
    encodeStreamRecord(record(1, Buffer.alloc(0), StreamKind.Datagram, 2)), // index beyond the sequence
    encodeStreamRecord(record(4, Buffer.from('x'), StreamKind.Close)), // close with data
    encodeStreamRecord({ ...record(0, Buffer.alloc(16), StreamKind.Parity), fecCount: 2, parityCount: 1, fecIndex: 1 }),
    encodeStreamRecord({ ...record(0, Buffer.alloc(12), StreamKind.Parity), fecCount: 2, parityCount: 1, fecIndex: 2 }),
  ];
  for (const [i, b] of bad.entries()) assert.throws(() => decodeStreamRecord(b), ProtocolError, `case ${i}`);
  for (let i = 0; i < 2000; i++) {
    const fuzzed = Buffer.from(good);
    fuzzed[Math.floor(Math.random() * fuzzed.length)] = Math.floor(Math.random() * 256);
    try {
      decodeStreamRecord(fuzzed);
    } catch (err) {
      assert.ok(err instanceof ProtocolError, String(err));
    }
  }
});

test('channel names: short, plain ASCII', () => {
  assert.equal(channelNameProblem('syslog-1.a_b'), undefined);
  for (const bad of ['', 'a/b', 'a b', 'é', 'x'.repeat(33)]) assert.ok(channelNameProblem(bad), bad);
});

test('records of different lengths lost from a block are rebuilt from its parity, exactly', async () => {
  const block = Array.from({ length: 7 }, (_, i) => encodeStreamRecord(record(100 + i, randomBytes(1 + ((i * 397) % 1400)), StreamKind.Datagram, i)));
  const parity = await streamBlockParity(block, 2);
  assert.equal(parity.length, 2);
  const rebuilt = await rebuildStreamBlock(block.map((r, i) => (i === 1 || i === 5 ? undefined : r)), [parity[0], parity[1]]);
  assert.deepEqual([...rebuilt.keys()].sort(), [1, 5]);
  for (const i of [1, 5]) assert.deepEqual(encodeStreamRecord(rebuilt.get(i)!), block[i]);
  const one = await rebuildStreamBlock(block.map((r, i) => (i === 6 ? undefined : r)), [undefined, parity[1]]);
  assert.deepEqual(encodeStreamRecord(one.get(6)!), block[6]);
  await assert.rejects(rebuildStreamBlock(block.map((r, i) => (i < 3 ? undefined : r)), parity), RangeError);
});
