import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FrameType, encodeObjectHeader, type Frame, type FrameHeader, type ObjectHeader } from '@diodesync/protocol';
import { ChangeApplier } from './placement/change-applier.js';
import { DestTree } from './placement/dest-tree.js';
import { ResourceLimits } from './assembly/limits.js';
import { Receiver } from './receiver.js';
import { SyncTracker } from './placement/sync-tracker.js';

const FLOOD = 1_000_000;

function frameOf(type: FrameHeader['type'], objectId: number, payload: Buffer, sessionId = 1): Frame {
  return {
    header: { type, flags: 0, sessionId, sequence: objectId, objectId, chunkIndex: 0, fecK: 0, fecM: 0, fecIndex: 0, pass: 1, payloadLength: payload.length, payloadCrc: 0 },
    payload,
  };
}

function fileHeader(p: string, size: number): ObjectHeader {
  return { kind: 'file', path: p, size, mtimeMs: 0, mode: 0o644, sha256: createHash('sha256').update(p).digest(), chunkSize: 1024, chunkCount: Math.ceil(size / 1024), version: 0, fecK: 0, fecM: 0 };
}

async function withReceiver(t: import('node:test').TestContext, limits = { maxFileSize: 2 ** 40, maxFiles: 1e7, minFree: { bytes: 0 } }) {
  const root = await mkdtemp(path.join(tmpdir(), 'diodesync-flood-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dest = path.join(root, 'dest');
  const state = path.join(root, 'state');
  const tree = new DestTree(dest);
  await mkdir(dest, { recursive: true });
  const receiver = new Receiver(
    { stateDir: state, maxBuffer: 64 << 20, maxPartials: 256, partialTtlMs: 3_600_000, changes: new ChangeApplier(tree, path.join(state, 'q'), false, 1), limits: new ResourceLimits(limits, [root]) },
    tree, new SyncTracker(tree),
  );
  await receiver.init();
  t.after(() => receiver.close());
  return { receiver, dest, root };
}

test('a million object headers for distinct files, or for one file under a million wire ids, leave every table bounded', { timeout: 120_000 }, async (t) => {
  const { receiver } = await withReceiver(t);
  const before = process.memoryUsage().rss;
  // A million distinct files of 1 MB each: 256 are assembled at once, the rest wait for a later pass.
  for (let i = 0; i < FLOOD; i++) receiver.handleFrame(frameOf(FrameType.ObjectHeader, i, encodeObjectHeader(fileHeader(`f/${i}`, 1 << 20))));
  assert.ok(receiver.partialCount <= 256, String(receiver.partialCount));
  // Objects idle past their pass give up their slot to new ones (workers-full.test.ts): each is counted as expired.
  assert.equal(receiver.counters.tooManyPartials, FLOOD - receiver.partialCount - receiver.counters.partialsExpired);
  // Empty data frames for a million unknown objects: the orphan buffer's budget counts each frame.
  for (let i = 0; i < FLOOD; i++) receiver.handleFrame(frameOf(FrameType.Data, 2_000_000 + i, Buffer.alloc(0)));
  assert.ok(receiver.counters.orphanData > FLOOD * 0.9, `${receiver.counters.orphanData} orphans refused`);
  // One empty file announced under a million wire ids (sessions x objects), to a fresh receiver: it is placed once.
  const { receiver: fresh, dest } = await withReceiver(t);
  const empty = encodeObjectHeader({ ...fileHeader('empty', 0), sha256: createHash('sha256').digest() });
  for (let i = 0; i < FLOOD; i++) fresh.handleFrame(frameOf(FrameType.ObjectHeader, i, empty, 100 + (i % 1000)));
  await fresh.settle();
  assert.equal(fresh.counters.filesCompleted, 1);
  assert.deepEqual(await readdir(dest), ['empty']);
  // The wire-id and completed tables themselves are bounded: object-table.test.ts.
  const grown = (process.memoryUsage().rss - before) / 2 ** 20;
  assert.ok(grown < 300, `RSS grew by ${grown.toFixed(0)} MiB`);
});

test('headers that breach --max-file-size, --max-files or --min-free are refused and counted; the receiver goes on', { timeout: 30_000 }, async (t) => {
  const { receiver } = await withReceiver(t, { maxFileSize: 1 << 20, maxFiles: 3, minFree: { bytes: 0 } });
  for (let copy = 0; copy < 100; copy++) receiver.handleFrame(frameOf(FrameType.ObjectHeader, 1, encodeObjectHeader(fileHeader('big', (1 << 20) + 1))));
  assert.equal(receiver.counters.limits['max-file-size'], 100);
  for (let i = 0; i < 10; i++) receiver.handleFrame(frameOf(FrameType.ObjectHeader, 10 + i, encodeObjectHeader(fileHeader(`n${i}`, 5000))));
  assert.equal(receiver.partialCount, 3);
  assert.equal(receiver.counters.limits['max-files'], 7);
  // 2^40 bytes announced: beyond the free space of any test machine.
  const { receiver: r2 } = await withReceiver(t);
  r2.handleFrame(frameOf(FrameType.ObjectHeader, 1, encodeObjectHeader({ ...fileHeader('huge', 2 ** 40), chunkSize: 65_536, chunkCount: 2 ** 24 })));
  assert.equal(r2.counters.limits['min-free'], 1);
  assert.equal(r2.partialCount, 0);
});
