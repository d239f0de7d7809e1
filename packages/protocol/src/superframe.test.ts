import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FrameType, HEADER_SIZE, MAX_PAYLOAD } from './constants.js';
import { crc32, crc32Reference } from './crc.js';
import { decodeDatagram, encodeFrame, encodeHeader, readHeader, type FrameFields } from './superframe.js';

const fields: FrameFields = {
  type: FrameType.Data, flags: 0x0102, sessionId: 0xdeadbeef, sequence: 2 ** 40 + 7,
  objectId: 42, chunkIndex: 123_456, fecK: 20, fecM: 4, fecIndex: 3, pass: 2,
};

test('native and reference CRC-32 agree', () => {
  for (const len of [0, 1, 47, 1424, 65_536]) {
    const data = randomBytes(len);
    assert.equal(crc32(data), crc32Reference(data));
  }
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
});

test('every frame type round-trips through a datagram', () => {
  for (const type of Object.values(FrameType)) {
    const payload = randomBytes(type === FrameType.Heartbeat ? 0 : 1000);
    const result = decodeDatagram(encodeFrame({ ...fields, type }, payload));
    assert.ok(result.ok, `type ${type}`);
    assert.deepEqual(result.frame.payload, payload);
    const { payloadLength, payloadCrc, ...decoded } = result.frame.header;
    assert.deepEqual(decoded, { ...fields, type });
    assert.equal(payloadLength, payload.length);
    assert.equal(payloadCrc, crc32(payload));
  }
});

test('header alone matches the single-buffer encoding', () => {
  const payload = randomBytes(10);
  const header = encodeHeader(fields, payload);
  assert.equal(header.length, HEADER_SIZE);
  assert.deepEqual(Buffer.concat([header, payload]), encodeFrame(fields, payload));
});

test('any flipped bit makes a datagram fail with a reason', () => {
  const frame = encodeFrame(fields, randomBytes(200));
  for (let bit = 0; bit < frame.length * 8; bit += 7) {
    const bad = Buffer.from(frame);
    bad[bit >> 3]! ^= 1 << (bit & 7);
    const result = decodeDatagram(bad);
    assert.equal(result.ok, false, `bit ${bit}`);
  }
});

test('truncated, padded and over-long frames are refused', () => {
  const frame = encodeFrame(fields, randomBytes(100));
  assert.deepEqual(decodeDatagram(frame.subarray(0, 40)), { ok: false, reason: 'short' });
  assert.deepEqual(decodeDatagram(frame.subarray(0, frame.length - 1)), { ok: false, reason: 'length' });
  assert.deepEqual(decodeDatagram(Buffer.concat([frame, Buffer.alloc(1)])), { ok: false, reason: 'length' });
  assert.throws(() => encodeFrame(fields, Buffer.alloc(MAX_PAYLOAD + 1)), RangeError);
});

test('a header whose CRC matches but announces a huge length is refused before any allocation', () => {
  const frame = encodeFrame(fields, Buffer.alloc(0));
  frame.writeUInt32BE(0xffff_fff0, 8);
  // Re-seal the header CRC, as an attacker could.
  frame.writeUInt32BE(crc32(frame.subarray(0, 44)), 44);
  assert.deepEqual(readHeader(frame), { ok: false, reason: 'length' });
});

test('unknown version and frame type are refused', () => {
  const frame = encodeFrame(fields, Buffer.alloc(0));
  const version = Buffer.from(frame);
  version[4] = 9;
  version.writeUInt32BE(crc32(version.subarray(0, 44)), 44);
  assert.deepEqual(readHeader(version), { ok: false, reason: 'version' });
  const type = Buffer.from(frame);
  type[5] = 200;
  type.writeUInt32BE(crc32(type.subarray(0, 44)), 44);
  assert.deepEqual(readHeader(type), { ok: false, reason: 'type' });
});
