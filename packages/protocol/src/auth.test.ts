import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FrameAuthenticator, MIN_KEY_BYTES, openFrame, sealFrame } from './auth.js';
import { FLAG_AUTHENTICATED, FLAG_ENCRYPTED, FrameType, TAG_SIZE } from './constants.js';
import { StreamDeframer } from './deframer.js';
import { decodeDatagram, type FrameFields } from './superframe.js';

const fields: FrameFields = { type: FrameType.Data, sessionId: 0x1234_5678, sequence: 2 ** 33 + 5, objectId: 7, chunkIndex: 3 };
const key = new FrameAuthenticator(randomBytes(32));
const other = new FrameAuthenticator(randomBytes(32));

function decode(pieces: Buffer[]) {
  const result = decodeDatagram(Buffer.concat(pieces));
  assert.ok(result.ok, 'codec accepts the frame');
  return result.frame;
}

test('a key shorter than 32 bytes is refused', () => {
  assert.throws(() => new FrameAuthenticator(Buffer.alloc(MIN_KEY_BYTES - 1)), RangeError);
});

test('an authenticated frame carries a 16-byte tag after its payload, found by datagram and stream decoders', () => {
  const payload = randomBytes(1000);
  const pieces = sealFrame(fields, payload, key);
  assert.equal(pieces[2]!.length, TAG_SIZE);
  const frame = decode(pieces);
  assert.equal(frame.header.flags & FLAG_AUTHENTICATED, FLAG_AUTHENTICATED);
  const opened = openFrame(frame, [key]);
  assert.ok(opened.ok);
  assert.deepEqual(opened.frame.payload, payload);
  // Two frames back to back in a stream, cut at odd places.
  const stream = Buffer.concat([...pieces, ...pieces]);
  const deframer = new StreamDeframer();
  const frames = [...deframer.push(stream.subarray(0, 77)), ...deframer.push(stream.subarray(77))];
  assert.equal(frames.length, 2);
  for (const f of frames) assert.ok(openFrame(f, [key]).ok);
});

test('a wrong key, a flipped bit or a missing tag is refused; during a rotation either key works', () => {
  const pieces = sealFrame(fields, randomBytes(200), key);
  assert.deepEqual(openFrame(decode(pieces), [other]), { ok: false, reason: 'bad-tag' });
  assert.ok(openFrame(decode(pieces), [other, key]).ok);
  const tag = Buffer.from(pieces[2]!);
  tag[5]! ^= 1;
  assert.deepEqual(openFrame(decode([pieces[0]!, pieces[1]!, tag]), [key]), { ok: false, reason: 'bad-tag' });
  assert.deepEqual(openFrame(decode(sealFrame(fields, randomBytes(200))), [key]), { ok: false, reason: 'unauthenticated' });
});

test('an encrypted frame hides its payload, decrypts with the key, and refuses tampering with header or payload', () => {
  const payload = Buffer.alloc(500, 'secret ');
  const pieces = sealFrame(fields, payload, key, true);
  assert.ok(!pieces[1]!.includes('secret'));
  const frame = decode(pieces);
  assert.equal(frame.header.flags & FLAG_ENCRYPTED, FLAG_ENCRYPTED);
  const opened = openFrame(frame, [key], true);
  assert.ok(opened.ok);
  assert.deepEqual(opened.frame.payload, payload);
  assert.equal(openFrame(frame, [other]).ok, false);
  // Same key, another session: another derived key, so nothing decrypts.
  const replayed = decode(sealFrame({ ...fields, sessionId: 1 }, payload, key, true));
  replayed.header.sessionId = fields.sessionId;
  assert.equal(openFrame(replayed, [key]).ok, false);
  // Authenticated but not encrypted, where encryption is required.
  assert.deepEqual(openFrame(decode(sealFrame(fields, payload, key)), [key], true), { ok: false, reason: 'unencrypted' });
});
