import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameType, encodeFrame, encodeHeartbeat, type FrameFields } from '@diodesync/protocol';
import { newCounters } from '../counters.js';
import { FrameIntake } from './frame-intake.js';
import { Link } from './link.js';
import { SEEN_WINDOW, SeenWindow } from './seen-window.js';

const heartbeat = encodeHeartbeat({
  sessionId: 1, host: 'h', startedAt: 1, sentAt: 1, intervalMs: 1000, framesSent: 0, bytesSent: 0, filesSent: 0, queueDepth: 0, pass: 0, passes: 1, nextPassAt: 0,
});

/** A real intake behind two links, as the CLI wires them; `used` lists the data frames the assembly got. */
function twoLinks() {
  const counters = newCounters();
  const used: number[] = [];
  const intake = new FrameIntake(counters, {}, {
    knowsHeader: () => false, objectHeader: () => undefined, parity: () => undefined,
    data: (f) => void used.push(f.header.sequence),
  });
  const receiver = { counters, handleDatagram: intake.datagram.bind(intake), handleFrame: intake.frame.bind(intake) };
  const beats = { a: 0, b: 0 };
  const a = new Link({ name: 'a', url: 'udp://127.0.0.1:1', endpoint: { scheme: 'udp', host: '127.0.0.1', port: 1 } }, receiver, () => void beats.a++);
  const b = new Link({ name: 'b', url: 'udp://127.0.0.1:2', endpoint: { scheme: 'udp', host: '127.0.0.1', port: 2 } }, receiver, () => void beats.b++);
  const frame = (sequence: number): Buffer => {
    const fields: FrameFields = sequence % 10 === 0
      ? { type: FrameType.Heartbeat, sessionId: 1, sequence }
      : { type: FrameType.Data, sessionId: 1, sequence, objectId: 1, chunkIndex: sequence };
    return encodeFrame(fields, fields.type === FrameType.Heartbeat ? heartbeat : Buffer.from('x'));
  };
  return { counters, intake, used, beats, a, b, frame };
}

test('copies on two links: each frame is used once, each link counts what it missed, the heartbeats reach both watchdogs', () => {
  const { counters, intake, used, beats, a, b, frame } = twoLinks();
  const N = 1000;
  // Each link alone loses a fifth of the frames, different ones.
  for (let s = 0; s < N; s++) {
    if (s % 5 !== 4) a.handleDatagram(frame(s));
    if (s % 5 !== 1) b.handleDatagram(frame(s));
  }
  const data = [...Array(N).keys()].filter((s) => s % 10 !== 0);
  assert.deepEqual(used.sort((x, y) => x - y), data, 'every data frame once');
  // A link sees no loss before its first data frame or after its last: a loses 999, b loses 1.
  assert.equal(a.sequences.lost, N / 5 - 1);
  assert.equal(b.sequences.lost, N / 5 - 1);
  assert.equal(intake.sequences.lost, 0, 'together nothing is lost');
  assert.equal(counters.duplicateFrames, (3 * N) / 5);
  assert.equal(a.stats.duplicateFrames + b.stats.duplicateFrames, (3 * N) / 5);
  assert.equal(counters.framesReceived, (8 * N) / 5);
  assert.equal(a.stats.framesReceived, (4 * N) / 5);
  assert.equal(beats.a, N / 10);
  assert.equal(beats.b, N / 10);
  assert.equal(counters.heartbeats, N / 10, 'the whole receiver counts each heartbeat once');
});

test('a stripe over two links: each link is judged on its own share (heartbeats on both)', () => {
  const { intake, used, a, b, frame } = twoLinks();
  const N = 1000;
  const lostOnA = new Set([11, 13, 501]);
  for (let s = 0; s < N; s++) {
    const heartbeatFrame = s % 10 === 0;
    if ((heartbeatFrame || s % 2 === 1) && !lostOnA.has(s)) a.handleDatagram(frame(s));
    if (heartbeatFrame || s % 2 === 0) b.handleDatagram(frame(s));
  }
  assert.equal(a.sequences.strideLearnt, 2);
  assert.equal(b.sequences.strideLearnt, 2);
  assert.equal(a.sequences.lost, lostOnA.size);
  assert.equal(b.sequences.lost, 0);
  assert.equal(intake.sequences.lost, lostOnA.size);
  assert.equal(used.length, (9 * N) / 10 - lostOnA.size);
});

test("a transport's counts land on its link and in the totals", () => {
  const { counters, a, b } = twoLinks();
  a.counters.queueOverflow += 3;
  a.counters.bytesReceived += 100;
  b.counters.framing.magic += 2;
  a.handleDatagram(Buffer.from('garbage, not a frame'));
  assert.equal(counters.queueOverflow, 3);
  assert.equal(a.stats.queueOverflow, 3);
  assert.equal(b.stats.queueOverflow, 0);
  assert.equal(counters.framing.magic + counters.framing.short, 3);
  assert.equal(b.stats.framing.magic, 2);
  assert.equal(a.stats.framing.magic + a.stats.framing.short, 1);
  assert.equal(a.stats.framesReceived, 1);
});

test('the seen window tells a copy from a new frame, and admits it cannot tell far behind', () => {
  const w = new SeenWindow();
  assert.equal(w.mark(10), 'new');
  assert.equal(w.mark(10), 'seen');
  assert.equal(w.mark(5), 'new');
  assert.equal(w.mark(5), 'seen');
  assert.equal(w.mark(20), 'new');
  assert.equal(w.mark(25 + SEEN_WINDOW), 'new'); // slides: the slot of 20 now stands for 20 + SEEN_WINDOW
  assert.equal(w.mark(10), 'unknown');
  assert.equal(w.mark(20 + SEEN_WINDOW), 'new', 'a slot passed over by the slide is free again');
  assert.equal(w.mark(20 + SEEN_WINDOW), 'seen');
  assert.equal(w.mark(3 * SEEN_WINDOW), 'new');
  assert.equal(w.mark(3 * SEEN_WINDOW - 1), 'new', 'a jump past the window forgets everything');
});
