import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { FLAG_ENCRYPTED, FrameType, encodeChange, encodeFrame, encodeHeartbeat, encodeObjectHeader, type FrameFields, type Heartbeat } from '@diodesync/protocol';
import { newCounters } from '../counters.js';
import { FrameIntake, type MessageHandlers, type ObjectFrames } from './frame-intake.js';

const header = encodeObjectHeader({
  kind: 'file', path: 'a.txt', size: 3, mtimeMs: 0, mode: 0o644, sha256: createHash('sha256').update('abc').digest(),
  chunkSize: 1024, chunkCount: 1, version: 0, fecK: 0, fecM: 0,
});

function intake(objects: Partial<ObjectFrames> = {}, messages: MessageHandlers = {}) {
  const counters = newCounters();
  const seen: string[] = [];
  const intake = new FrameIntake(counters, {}, {
    knowsHeader: () => false,
    objectHeader: (_f, h) => void seen.push(`header ${h.path}`),
    data: (f) => void seen.push(`data ${f.header.chunkIndex}`),
    parity: () => void seen.push('parity'),
    ...objects,
  }, messages);
  let sequence = 0;
  const send = (fields: Omit<FrameFields, 'sessionId' | 'sequence'>, payload: Buffer) => intake.datagram(encodeFrame({ sessionId: 1, sequence: sequence++, ...fields }, payload));
  return { intake, counters, seen, send };
}

test('each frame type goes to its output, payloads decoded once; what does not decode is counted, never thrown', () => {
  const { counters, seen, send } = intake();
  send({ type: FrameType.ObjectHeader, objectId: 1 }, header);
  send({ type: FrameType.Data, objectId: 1, chunkIndex: 0 }, Buffer.from('abc'));
  send({ type: FrameType.Parity, objectId: 1 }, Buffer.alloc(8));
  send({ type: FrameType.ObjectHeader, objectId: 2 }, Buffer.from('not msgpack'));
  send({ type: FrameType.Heartbeat }, Buffer.from('not msgpack'));
  assert.deepEqual(seen, ['header a.txt', 'data 0', 'parity']);
  assert.equal(counters.badMessage, 2);
  assert.equal(counters.framesReceived, 5);
  assert.equal(counters.heartbeats, 0);
});

test('a copy of a known header is not decoded again', () => {
  const { counters, seen, send } = intake({ knowsHeader: () => true });
  send({ type: FrameType.ObjectHeader, objectId: 1 }, Buffer.from('not msgpack'));
  assert.deepEqual(seen, []);
  assert.equal(counters.badMessage, 0);
});

test('changes without an applier, and stream frames, are unsupported; with one, a change is decoded and handed on', () => {
  const change = encodeChange({ op: 'delete', path: 'a.txt', to: '', sha256: Buffer.alloc(32) });
  const without = intake();
  without.send({ type: FrameType.Change }, change);
  without.send({ type: FrameType.Change }, Buffer.from('not msgpack'));
  without.send({ type: FrameType.Stream }, Buffer.alloc(4));
  assert.equal(without.counters.unsupported, 3);
  assert.equal(without.counters.badMessage, 0);
  const changes: string[] = [];
  const withApplier = intake({}, { change: (c) => void changes.push(`${c.op} ${c.path}`) });
  withApplier.send({ type: FrameType.Change }, change);
  withApplier.send({ type: FrameType.Change }, Buffer.from('not msgpack'));
  assert.deepEqual(changes, ['delete a.txt']);
  assert.equal(withApplier.counters.badMessage, 1);
});

test('a damaged datagram is counted by reason; an encrypted frame without a key is refused before its payload is read', () => {
  const { intake: i, counters, seen, send } = intake();
  const frame = encodeFrame({ type: FrameType.Data, sessionId: 1, sequence: 0 }, Buffer.from('abc'));
  frame[frame.length - 1]! ^= 1;
  i.datagram(frame);
  i.datagram(frame.subarray(0, 10));
  assert.equal(counters.framing['payload-crc'], 1);
  assert.equal(counters.framing.short, 1);
  send({ type: FrameType.Data, flags: FLAG_ENCRYPTED }, Buffer.from('abc'));
  assert.equal(counters.auth['no-key'], 1);
  send({ type: FrameType.Data, chunkIndex: 5 }, Buffer.from('abc'));
  assert.deepEqual(seen, ['data 5']);
});

test('datagrams read in place from shared memory (a UDP receive slot) decode, and what is kept does not change when the slot is reused', () => {
  const headers: { sha: Buffer; path: string }[] = [];
  const beats: number[] = [];
  const { intake: i, counters } = intake({ objectHeader: (_f, h) => void headers.push({ sha: h.sha256!, path: h.path }) },
    { heartbeat: (_s, h) => void beats.push(h.startedAt) });
  const slot = Buffer.from(new SharedArrayBuffer(4096));
  const put = (datagram: Buffer) => {
    slot.fill(0);
    datagram.copy(slot);
    i.datagram(slot.subarray(0, datagram.length));
    slot.fill(0xee); // the slot is reused at once
  };
  put(encodeFrame({ type: FrameType.ObjectHeader, sessionId: 1, sequence: 0, objectId: 1 }, header));
  put(encodeFrame({ type: FrameType.Heartbeat, sessionId: 1, sequence: 1 }, encodeHeartbeat({
    sessionId: 1, host: 'h', startedAt: 1_700_000_000_000, sentAt: 1_700_000_000_000, intervalMs: 1000, framesSent: 0, bytesSent: 0, filesSent: 0, queueDepth: 0, pass: 1, passes: 1, nextPassAt: 0,
  } satisfies Heartbeat)));
  assert.equal(counters.badMessage, 0, 'msgpackr refuses views of shared memory: messages must be copied first');
  assert.deepEqual(beats, [1_700_000_000_000]);
  assert.equal(headers.length, 1);
  assert.equal(headers[0]!.path, 'a.txt');
  assert.ok(headers[0]!.sha.equals(createHash('sha256').update('abc').digest()), 'the hash kept is not a view into the slot');
});
