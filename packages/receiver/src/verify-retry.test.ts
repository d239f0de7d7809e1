import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FrameType, encodeObjectHeader, type Frame, type FrameHeader } from '@diodesync/protocol';
import { DestTree } from './placement/dest-tree.js';
import { ResourceLimits } from './assembly/limits.js';
import { Receiver } from './receiver.js';
import { SyncTracker } from './placement/sync-tracker.js';

const CHUNK = 1024;

function frame(type: FrameHeader['type'], sessionId: number, chunkIndex: number, payload: Buffer): Frame {
  return {
    header: { type, flags: 0, sessionId, sequence: chunkIndex, objectId: 1, chunkIndex, fecK: 0, fecM: 0, fecIndex: 0, pass: 1, payloadLength: payload.length, payloadCrc: 0 },
    payload,
  };
}

test('frames of the next pass that arrive while a spoilt copy is verified make a good copy', { timeout: 30_000 }, async (t) => {
  const root = await mkdtemp(path.join(tmpdir(), 'diodesync-retry-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dest = path.join(root, 'dest');
  await mkdir(dest);
  const tree = new DestTree(dest);
  const receiver = new Receiver(
    { stateDir: path.join(root, 'state'), maxBuffer: 64 << 20, maxPartials: 16, limits: new ResourceLimits({ maxFileSize: 2 ** 40, maxFiles: 1e6, minFree: { bytes: 0 } }, [root]) },
    tree, new SyncTracker(tree),
  );
  await receiver.init();
  t.after(() => receiver.close());

  const content = randomBytes(10 * CHUNK);
  const header = encodeObjectHeader({
    kind: 'file', path: 'f.bin', size: content.length, mtimeMs: Date.now(), mode: 0o644, sha256: createHash('sha256').update(content).digest(),
    chunkSize: CHUNK, chunkCount: 10, version: 0, fecK: 0, fecM: 0,
  });
  const chunk = (i: number) => Buffer.from(content.subarray(i * CHUNK, (i + 1) * CHUNK));
  // Pass 1 with one forged chunk (its CRC is fine, its bytes are not): it completes, then fails verification.
  receiver.handleFrame(frame(FrameType.ObjectHeader, 7, 0, header));
  for (let i = 0; i < 10; i++) receiver.handleFrame(frame(FrameType.Data, 7, i, i === 3 ? randomBytes(CHUNK) : chunk(i)));
  // Pass 2 from a restarted sender, in the same turn: the spoilt copy is still being verified.
  receiver.handleFrame(frame(FrameType.ObjectHeader, 8, 0, header));
  for (let i = 0; i < 10; i++) receiver.handleFrame(frame(FrameType.Data, 8, i, chunk(i)));
  await receiver.settle();
  await receiver.settle(); // the fresh copy completes during the first settle
  assert.equal(receiver.counters.verifyFailed, 1);
  assert.equal(receiver.counters.filesCompleted, 1);
  assert.ok((await readFile(path.join(dest, 'f.bin'))).equals(content));
});
