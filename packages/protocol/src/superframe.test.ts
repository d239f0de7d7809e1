import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { FrameType, HEADER_LAYOUT, HEADER_SIZE, MAGIC, MAX_PAYLOAD, PROTOCOL_VERSION, type HeaderField } from './constants.js';
import { crc32, crc32Range, crc32Reference } from './crc.js';
import { decodeDatagram, encodeFrame, encodeHeader, readHeader, writeFrameAs, type FrameFields } from './superframe.js';

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

test('without the addon (DIODESYNC_NATIVE=0) the CRC-32 is zlib\'s, and agrees with the reference', () => {
  const url = new URL('./crc.js', import.meta.url).href;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e',
    `import { crc32, crc32Reference, crcPath } from ${JSON.stringify(url)};
     const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 2654435761) >>> 24));
     console.log(JSON.stringify({ crcPath, check: crc32(Buffer.from('123456789')), same: crc32(data) === crc32Reference(data) }));`],
  { env: { ...process.env, DIODESYNC_NATIVE: '0' }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { crcPath: 'zlib', check: 0xcbf43926, same: true });
});

test('the JavaScript CRC-32 of a span agrees with the reference, at any offset', () => {
  const data = randomBytes(300);
  for (const [start, end] of [[0, 0], [0, 1], [3, 47], [17, 61], [0, 300]] as const) {
    assert.equal(crc32Range(data, start, end), crc32Reference(data.subarray(start, end)));
  }
  assert.equal(crc32Range(Buffer.from('123456789'), 0, 9), 0xcbf43926);
});

test('a frame written in place in a larger buffer decodes as encodeFrame\'s', () => {
  const payload = randomBytes(1000);
  const batch = Buffer.alloc(5000, 0xaa);
  writeFrameAs(batch, 777, fields, fields.sessionId, fields.sequence, payload);
  assert.ok(batch.subarray(777, 777 + HEADER_SIZE + payload.length).equals(encodeFrame(fields, payload)));
  assert.equal(batch[776], 0xaa);
  assert.equal(batch[777 + HEADER_SIZE + payload.length], 0xaa);
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

/** A copy of `frame` with one header field set and the header CRC re-sealed, as an attacker could. */
function forged(frame: Buffer, name: HeaderField, value: number): Buffer {
  const copy = Buffer.from(frame);
  copy.writeUIntBE(value, HEADER_LAYOUT[name].offset, HEADER_LAYOUT[name].size);
  copy.writeUInt32BE(crc32(copy.subarray(0, HEADER_LAYOUT.headerCrc.offset)), HEADER_LAYOUT.headerCrc.offset);
  return copy;
}

test('a header whose CRC matches but announces a huge length is refused before any allocation', () => {
  const frame = encodeFrame(fields, Buffer.alloc(0));
  assert.deepEqual(readHeader(forged(frame, 'payloadLength', 0xffff_fff0)), { ok: false, reason: 'length' });
});

test('unknown version and frame type are refused', () => {
  const frame = encodeFrame(fields, Buffer.alloc(0));
  assert.deepEqual(readHeader(forged(frame, 'version', 9)), { ok: false, reason: 'version' });
  assert.deepEqual(readHeader(forged(frame, 'type', 200)), { ok: false, reason: 'type' });
});

test('HEADER_LAYOUT tiles the header in order, and the codec puts every field where it says', () => {
  let end = 0;
  for (const [name, { offset, size }] of Object.entries(HEADER_LAYOUT)) {
    assert.equal(offset, end, `${name} starts where the field before it ends`);
    assert.ok(size === 1 || size === 2 || size === 4, `${name}: ${size} bytes`);
    end = offset + size;
  }
  assert.equal(end, HEADER_SIZE);

  const payload = randomBytes(33);
  const frame = encodeFrame(fields, payload);
  const field = (name: HeaderField) => frame.readUIntBE(HEADER_LAYOUT[name].offset, HEADER_LAYOUT[name].size);
  assert.deepEqual(
    {
      magic: field('magic'), version: field('version'), type: field('type'), flags: field('flags'),
      payloadLength: field('payloadLength'), sessionId: field('sessionId'),
      sequence: field('sequenceHigh') * 2 ** 32 + field('sequenceLow'),
      objectId: field('objectId'), chunkIndex: field('chunkIndex'), fecK: field('fecK'), fecM: field('fecM'),
      fecIndex: field('fecIndex'), pass: field('pass'), reserved: field('reserved'),
      payloadCrc: field('payloadCrc'), headerCrc: field('headerCrc'),
    },
    {
      magic: MAGIC.readUInt32BE(0), version: PROTOCOL_VERSION, type: fields.type, flags: fields.flags,
      payloadLength: payload.length, sessionId: fields.sessionId, sequence: fields.sequence,
      objectId: fields.objectId, chunkIndex: fields.chunkIndex, fecK: fields.fecK, fecM: fields.fecM,
      fecIndex: fields.fecIndex, pass: fields.pass, reserved: 0,
      payloadCrc: crc32(payload), headerCrc: crc32(frame.subarray(0, HEADER_LAYOUT.headerCrc.offset)),
    },
  );
});
