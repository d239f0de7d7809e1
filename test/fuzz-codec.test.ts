import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  FrameAuthenticator, FrameType, HEADER_SIZE, MAX_PAYLOAD, ProtocolError, StreamDeframer, TAG_SIZE,
  decodeChange, decodeDatagram, decodeHeartbeat, decodeManifest, decodeObjectHeader, encodeChange, encodeFrame,
  encodeHeartbeat, encodeManifest, encodeObjectHeader, openFrame, payloadMatches, sealFrame, type Frame,
} from '@diodesync/protocol';
import { MUTATIONS, mutate } from './lib/mutate.js';
import { prng } from './lib/prng.js';

const ROUNDS = 100_000;
const sha = randomBytes(32);
const key = new FrameAuthenticator(randomBytes(32));

/** One real frame of each type, as the sender builds them; some with tags, some encrypted. */
function corpus(): Buffer[] {
  const f = { sessionId: 0xabcdef, objectId: 3, pass: 1 };
  const plain = [
    encodeFrame({ ...f, type: FrameType.ObjectHeader, sequence: 1 }, encodeObjectHeader({ kind: 'file', path: 'dir/file.bin', size: 3000, mtimeMs: 1.7e12, mode: 0o644, sha256: sha, chunkSize: 1408, chunkCount: 3, version: 9, fecK: 0, fecM: 0 })),
    encodeFrame({ ...f, type: FrameType.Data, sequence: 2, chunkIndex: 1 }, randomBytes(1408)),
    encodeFrame({ ...f, type: FrameType.Heartbeat, sequence: 3 }, encodeHeartbeat({ sessionId: 1, host: 'low', startedAt: 1, sentAt: 2, intervalMs: 5000, framesSent: 9, bytesSent: 99, filesSent: 1, queueDepth: 0, pass: 1, passes: 2, nextPassAt: 0 })),
    encodeFrame({ ...f, type: FrameType.Change, sequence: 4 }, encodeChange({ op: 'rename', path: 'a', to: 'b', sha256: sha })),
    encodeFrame({ ...f, type: FrameType.ObjectHeader, sequence: 5 }, encodeManifest({ createdAt: 1, pass: 1, passes: 2, files: [{ path: 'a', size: 1, mtimeMs: 1, sha256: sha }], dirs: ['d'] })),
  ];
  const sealed = [1, 2].flatMap((i) => [false, true].map((encrypt) => Buffer.concat(sealFrame({ ...f, type: FrameType.Data, sequence: 10 + i }, randomBytes(500 * i), key, encrypt))));
  return [...plain, ...sealed];
}

/** What the receiver does with a frame the codec accepted: messages decode or throw ProtocolError, nothing else. */
function consume(frame: Frame): void {
  assert.ok(payloadMatches(frame.header, frame.payload));
  assert.ok(frame.payload.length <= MAX_PAYLOAD);
  if (frame.tag) openFrame(frame, [key]);
  for (const decode of [decodeObjectHeader, decodeHeartbeat, decodeChange, decodeManifest]) {
    try {
      decode(frame.payload);
    } catch (err) {
      assert.ok(err instanceof ProtocolError, `${decode.name} threw ${String(err)}`);
    }
  }
}

test(`${ROUNDS} mutated frames: the datagram decoder and the stream deframer never throw, never buffer beyond one frame`, { timeout: 120_000 }, () => {
  const frames = corpus();
  const random = prng(20261123);
  const deframer = new StreamDeframer();
  const seen = new Map<string, number>(MUTATIONS.map((m) => [m, 0]));
  let accepted = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const { kind, bytes } = mutate(frames, random);
    seen.set(kind, seen.get(kind)! + 1);
    const result = decodeDatagram(bytes);
    if (result.ok) {
      accepted++;
      consume(result.frame);
    }
    // The stream gets the same bytes cut at a random point, as TCP might deliver them.
    const cut = Math.floor(random() * bytes.length);
    for (const frame of [...deframer.push(bytes.subarray(0, cut)), ...deframer.push(bytes.subarray(cut))]) consume(frame);
    assert.ok(deframer.pendingBytes <= HEADER_SIZE + MAX_PAYLOAD + TAG_SIZE + 1500, `deframer holds ${deframer.pendingBytes} bytes`);
  }
  // After all that garbage the stream re-aligns: a forged header may swallow up to one maximal
  // frame of what follows, never more.
  const real = frames[1]!;
  const copies = Math.ceil((HEADER_SIZE + MAX_PAYLOAD + TAG_SIZE) / real.length) + 10;
  const after = Array.from({ length: copies }, () => deframer.push(real)).flat();
  assert.ok(after.length >= 10 && after.at(-1)!.payload.equals(real.subarray(HEADER_SIZE)), `${after.length} of ${copies} came through`);
  for (const [kind, n] of seen) assert.ok(n > ROUNDS / MUTATIONS.length / 2, `${kind}: ${n}`);
  assert.ok(accepted > 0, 'some mutations reach the message decoders');
});
