import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FrameType, encodeObjectHeader, type Frame, type ObjectHeader } from '@diodesync/protocol';
import { ResourceLimits } from './assembly/limits.js';
import { ChangeApplier } from './placement/change-applier.js';
import { DestTree } from './placement/dest-tree.js';
import { SyncTracker } from './placement/sync-tracker.js';
import { Receiver } from './receiver.js';

function header(objectId: number, p: string): Frame {
  const h: ObjectHeader = {
    kind: 'file', path: p, size: 4096, mtimeMs: 0, mode: 0o644, sha256: createHash('sha256').update(p).digest(),
    chunkSize: 1024, chunkCount: 4, version: 0, fecK: 0, fecM: 0,
  };
  const payload = encodeObjectHeader(h);
  return {
    header: { type: FrameType.ObjectHeader, flags: 0, sessionId: 1, sequence: objectId, objectId, chunkIndex: 0, fecK: 0, fecM: 0, fecIndex: 0, pass: 1, payloadLength: payload.length, payloadCrc: 0 },
    payload,
  };
}

test('with every --workers slot held by objects whose pass is over, a new file takes the idlest one (no wait for --partial-ttl)', { timeout: 30_000 }, async (t) => {
  const root = await mkdtemp(path.join(tmpdir(), 'diodesync-workers-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dest = path.join(root, 'dest');
  const state = path.join(root, 'state');
  await mkdir(dest, { recursive: true });
  const tree = new DestTree(dest);
  const limits = new ResourceLimits({ maxFileSize: 2 ** 40, maxFiles: 1e7, minFree: { bytes: 0 } }, [root]);
  const receiver = new Receiver(
    { stateDir: state, maxBuffer: 16 << 20, maxPartials: 2, partialTtlMs: 3_600_000, changes: new ChangeApplier(tree, path.join(state, 'q'), false, 1), limits },
    tree, new SyncTracker(tree),
  );
  await receiver.init();
  t.after(() => receiver.close());

  receiver.handleFrame(header(1, 'a'));
  receiver.handleFrame(header(2, 'b'));
  receiver.handleFrame(header(3, 'c'));
  assert.equal(receiver.partialCount, 2);
  assert.equal(receiver.counters.tooManyPartials, 1, 'while the two are fresh, a third waits for a later pass');
  assert.equal(receiver.counters.partialsExpired, 0);

  await new Promise((resolve) => setTimeout(resolve, 5_500)); // their pass is over (idle past 5 s)
  receiver.handleFrame(header(4, 'd'));
  assert.equal(receiver.partialCount, 2, 'one slot given up, one taken');
  assert.equal(receiver.counters.partialsExpired, 1);
  assert.equal(receiver.counters.tooManyPartials, 1, 'the new file was admitted');
  receiver.handleFrame(header(5, 'e'));
  assert.equal(receiver.counters.partialsExpired, 2, 'the other idle one goes for the next');
  receiver.handleFrame(header(6, 'f'));
  assert.equal(receiver.counters.tooManyPartials, 2, 'fresh objects are never pushed out');
});
