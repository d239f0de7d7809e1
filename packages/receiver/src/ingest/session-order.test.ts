import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  FrameAuthenticator, FrameType, encodeHeartbeat, encodeObjectHeader, sealFrame,
  type Frame, type FrameFields, type Heartbeat,
} from '@diodesync/protocol';
import { DestTree } from '../placement/dest-tree.js';
import { ResourceLimits } from '../assembly/limits.js';
import { LinkWatchdog, type LinkEvent } from '../operations/link-watchdog.js';
import { Receiver } from '../receiver.js';
import { SessionOrder, startedAtText } from './session-order.js';
import { SyncTracker } from '../placement/sync-tracker.js';

const KEY = new FrameAuthenticator(randomBytes(32));
const A = 0xaaaa_0001; // the older run, replayed
const B = 0x0000_0b0b; // the newer run: a smaller id, as ids carry no order
const A_STARTED = Date.UTC(2024, 0, 1, 9);
const B_STARTED = Date.UTC(2024, 0, 1, 10);

/** One sender session: frames sealed with the key and decoded from the wire, as the receiver gets them. */
function session(sessionId: number, startedAt: number) {
  let sequence = 0;
  const frame = (fields: Omit<FrameFields, 'sessionId' | 'sequence'>, payload: Buffer): Buffer =>
    Buffer.concat(sealFrame({ ...fields, sessionId, sequence: sequence++ }, payload, KEY));
  return {
    heartbeat: () => frame({ type: FrameType.Heartbeat }, encodeHeartbeat(heartbeatOf(sessionId, startedAt))),
    /** Header and data of a one-chunk file. */
    file: (objectId: number, p: string, content: Buffer, mtimeMs: number) => [
      frame({ type: FrameType.ObjectHeader, objectId }, encodeObjectHeader({
        kind: 'file', path: p, size: content.length, mtimeMs, mode: 0o644, sha256: createHash('sha256').update(content).digest(),
        chunkSize: 4096, chunkCount: 1, version: 0, fecK: 0, fecM: 0,
      })),
      frame({ type: FrameType.Data, objectId, chunkIndex: 0 }, content),
    ],
    skip: (n: number) => void (sequence += n),
  };
}

function heartbeatOf(sessionId: number, startedAt: number): Heartbeat {
  return {
    sessionId, host: 'low', startedAt, sentAt: startedAt + 1000, intervalMs: 5000, framesSent: 0, bytesSent: 0,
    filesSent: 0, queueDepth: 0, pass: 1, passes: 1, nextPassAt: 0,
  };
}

async function withReceiver(t: import('node:test').TestContext) {
  const root = await mkdtemp(path.join(tmpdir(), 'diodesync-replay-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dest = path.join(root, 'dest');
  await mkdir(dest, { recursive: true });
  const tree = new DestTree(dest);
  const events: LinkEvent[] = [];
  const watchdog = new LinkWatchdog((event) => events.push(event));
  t.after(() => watchdog.stop());
  const receiver = new Receiver(
    {
      stateDir: path.join(root, 'state'), maxBuffer: 64 << 20, maxPartials: 16, keys: [KEY],
      limits: new ResourceLimits({ maxFileSize: 2 ** 40, maxFiles: 1e6, minFree: { bytes: 0 } }, [root]),
      onHeartbeat: (sessionId, hb) => watchdog.heartbeat(sessionId, hb.intervalMs, hb.host),
    },
    tree, new SyncTracker(tree),
  );
  await receiver.init();
  t.after(() => receiver.close());
  const feed = async (...datagrams: Buffer[]) => {
    for (const d of datagrams) receiver.handleDatagram(d);
    await receiver.settle();
  };
  return { receiver, dest, events, watchdog, feed };
}

test('a replay of an older session after the newer one is dropped and counted: no flip, no alert, the newer file stays', { timeout: 30_000 }, async (t) => {
  const { receiver, dest, events, watchdog, feed } = await withReceiver(t);
  const a = session(A, A_STARTED);
  const b = session(B, B_STARTED);
  // The older run was live first: the receiver followed it, and took its version of the file.
  const aFrames = [a.heartbeat(), ...a.file(1, 'f.txt', Buffer.from('old\n'), 1_000), a.heartbeat()];
  await feed(...aFrames);
  assert.equal(await readFile(path.join(dest, 'f.txt'), 'utf8'), 'old\n');
  // The sender restarted: one sender-restart, and the new version replaces the old.
  await feed(b.heartbeat(), ...b.file(1, 'f.txt', Buffer.from('new\n'), 2_000));
  assert.equal(await readFile(path.join(dest, 'f.txt'), 'utf8'), 'new\n');
  assert.deepEqual(events, ['sender-restart']);
  const before = { ...receiver.counters, lost: receiver.sequences.lost };
  // The older run's frames, replayed three times over, interleaved with the live session's heartbeats.
  for (let i = 0; i < 3; i++) await feed(...aFrames, b.heartbeat());
  assert.equal(receiver.counters.staleSession, 3 * aFrames.length);
  assert.equal(await readFile(path.join(dest, 'f.txt'), 'utf8'), 'new\n');
  assert.deepEqual(events, ['sender-restart']);
  assert.equal(receiver.counters.heartbeats, before.heartbeats + 3, 'only the live session\'s heartbeats count');
  assert.equal(receiver.counters.filesCompleted, before.filesCompleted);
  assert.equal(receiver.sequences.lost, before.lost);
  assert.equal(receiver.counters.auth['bad-tag'], 0);
  assert.equal(watchdog.state, 'up');
  // The live session is still the one followed: its next file lands.
  await feed(...b.file(2, 'g.txt', Buffer.from('live\n'), 3_000));
  assert.equal(await readFile(path.join(dest, 'g.txt'), 'utf8'), 'live\n');
});

test('a replay first seen after the newer session, even without its heartbeats, never reaches the mirror nor the loss estimate', { timeout: 30_000 }, async (t) => {
  const { receiver, dest, events, feed } = await withReceiver(t);
  const a = session(A, A_STARTED);
  const b = session(B, B_STARTED);
  await feed(b.heartbeat(), ...b.file(1, 'f.txt', Buffer.from('new\n'), 2_000));
  // Heartbeats left out: the start time of A is unknown, and a newest session is known.
  a.skip(1);
  const stripped = a.file(7, 'f.txt', Buffer.from('old\n'), 1_000);
  a.skip(1_000); // a sparse pick of A's frames: its sequence numbers have gaps
  stripped.push(...a.file(8, 'g.txt', Buffer.from('gone\n'), 1_000));
  await feed(...stripped);
  assert.equal(receiver.counters.staleSession, 4);
  // Then the heartbeat too: A is known to be older, logged once as stale, still no alert.
  await feed(a.heartbeat(), ...stripped, b.heartbeat());
  assert.equal(receiver.counters.staleSession, 9);
  assert.equal(await readFile(path.join(dest, 'f.txt'), 'utf8'), 'new\n');
  await assert.rejects(readFile(path.join(dest, 'g.txt')));
  assert.deepEqual(events, []);
  assert.equal(receiver.sequences.lost, 0);
});

test('before any heartbeat every session is taken as before; a replayed span is forgotten once its session is known to be older', { timeout: 30_000 }, async (t) => {
  const { receiver, dest, events, feed } = await withReceiver(t);
  const a = session(A, A_STARTED);
  const b = session(B, B_STARTED);
  // A receiver started after the sender: data of B before its first heartbeat is taken.
  b.skip(1);
  await feed(...b.file(1, 'f.txt', Buffer.from('new\n'), 2_000));
  assert.equal(await readFile(path.join(dest, 'f.txt'), 'utf8'), 'new\n');
  // A sparse replay of A, also before any heartbeat: taken as today (the same content is harmless here).
  a.skip(1);
  const early = a.file(1, 'f.txt', Buffer.from('new\n'), 2_000);
  a.skip(5_000);
  early.push(...a.file(2, 'f.txt', Buffer.from('new\n'), 2_000));
  await feed(...early);
  assert.equal(receiver.counters.staleSession, 0);
  assert.ok(receiver.sequences.lost >= 5_000);
  // B's heartbeat, then A's: A is older, its span leaves the loss estimate, and nothing alerts.
  await feed(b.heartbeat(), a.heartbeat());
  assert.equal(receiver.counters.staleSession, 1);
  assert.equal(receiver.sequences.lost, 0);
  assert.deepEqual(events, []);
});

test('session order: start times order sessions, not ids; ties go by id; unknown sessions wait once one is known; the table is bounded', () => {
  const older: number[] = [];
  const stale: number[] = [];
  const order = new SessionOrder({ older: (s) => older.push(s.sessionId), stale: (s) => stale.push(s.sessionId) });
  const frame = (sessionId: number, type: number, payload: Buffer = Buffer.alloc(0)): Frame => ({
    header: { type: type as Frame['header']['type'], flags: 0, sessionId, sequence: 0, objectId: 0, chunkIndex: 0, fecK: 0, fecM: 0, fecIndex: 0, pass: 0, payloadLength: payload.length, payloadCrc: 0 },
    payload,
  });
  const hb = (sessionId: number, startedAt: number) => frame(sessionId, FrameType.Heartbeat, encodeHeartbeat(heartbeatOf(sessionId, startedAt)));
  assert.ok(order.admit(frame(5, FrameType.Data)), 'nothing known: taken');
  assert.ok(order.admit(frame(5, FrameType.Heartbeat, Buffer.from('not msgpack'))), 'a bad heartbeat teaches nothing');
  assert.equal(order.newest, undefined);
  assert.ok(order.admit(hb(9, 2_000)));
  assert.ok(!order.admit(frame(5, FrameType.Data)), 'unknown once a session is known');
  assert.ok(!order.admit(hb(5, 1_000)), 'older');
  assert.ok(order.admit(hb(3, 3_000)), 'newer, with a smaller id');
  assert.ok(!order.admit(hb(9, 2_000)), 'the former newest is now older');
  assert.ok(!order.admit(hb(2, 3_000)) && order.admit(hb(4, 3_000)), 'equal start times: the larger id wins, once');
  assert.ok(!order.admit(hb(3, 3_000)));
  assert.ok(!order.admit(hb(9, 2_000)) && !order.admit(frame(5, FrameType.Data)));
  assert.deepEqual(older, [5, 2], 'learnt older than the newest');
  assert.deepEqual(stale, [5, 9, 2, 3], 'reported once each, superseded ones included');
  for (let id = 100; id < 1_100; id++) assert.ok(!order.admit(hb(id, 1)));
  assert.ok(order.admit(hb(4, 3_000)) && order.admit(frame(4, FrameType.Data)), 'the newest survives a flood of older sessions');
  assert.ok(!order.admit(frame(9, FrameType.Data)));
  // Any finite start time decodes (a forgery needs the key); logging it must not throw.
  assert.ok(order.admit(hb(7, 1e300)));
  assert.equal(startedAtText(order.newest!), '1e+300');
  assert.equal(startedAtText({ sessionId: 1, startedAt: 0 }), '1970-01-01T00:00:00.000Z');
});
