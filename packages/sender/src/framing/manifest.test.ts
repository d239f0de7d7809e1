import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { FrameType, comparePaths, decodeManifest, decodeObjectHeader, pathToBytes, type Frame, type Manifest } from '@diodesync/protocol';
import { TokenBucket } from '../transport/rate-limiter.js';
import { FrameEmitter } from './frame-emitter.js';
import { Interleaver } from './interleaver.js';
import { ManifestSender, dirsIn, pieceFilesLimit, type ListedFile, type ManifestSource } from './manifest.js';
import { memoryWire } from './memory-wire.test-support.js';

/** A source over a sorted list, as the ledger gives it. */
class ListSource implements ManifestSource {
  constructor(private readonly files: ListedFile[], private readonly tree: string[]) {
    files.sort((a, b) => comparePaths(a.relPath, b.relPath));
    tree.sort(comparePaths);
  }
  listedFiles(after: string | undefined, limit: number): ListedFile[] {
    return this.files.filter((f) => after === undefined || comparePaths(f.relPath, after) > 0).slice(0, limit);
  }
  dirs(): readonly string[] {
    return this.tree;
  }
}

const listed = (p: string): ListedFile => ({ relPath: p, size: p.length, mtimeMs: 1e12, sha256: createHash('sha256').update(p).digest() });

/** Sends through a real interleaver and emitter into memory, and decodes every manifest object that went. */
async function capture(run: (sender: ManifestSender, out: Interleaver, ids: () => number) => Promise<void>, pieceFiles: number): Promise<Manifest[]> {
  const objects = new Map<number, { chunks: Buffer[] }>();
  const { sink } = memoryWire((frame: Frame) => {
    const h = frame.header;
    if (h.type === FrameType.ObjectHeader) {
      assert.equal(decodeObjectHeader(frame.payload).kind, 'manifest');
      if (!objects.has(h.objectId)) objects.set(h.objectId, { chunks: [] });
    } else if (h.type === FrameType.Data) objects.get(h.objectId)!.chunks[h.chunkIndex] = Buffer.from(frame.payload);
  });
  const out = new Interleaver(new FrameEmitter(1, sink, new TokenBucket(1e12)), 1);
  const sender = new ManifestSender({ chunkSize: 1000, fec: { k: 0, m: 0 }, interleave: 1, redundancy: 1, pieceFiles });
  let id = 100;
  await run(sender, out, () => id++);
  await out.flush();
  return [...objects.values()].map((o) => decodeManifest(Buffer.concat(o.chunks)));
}

test('a full cycle goes in pieces of bounded size whose ranges chain from the first path to the last, each listing its range only', async () => {
  const names = ['é/x', 'a/1', 'a/2', 'b/1', 'b/2', 'b/3', 'c', 'z/1'];
  const source = new ListSource(names.map(listed), ['a', 'b', 'z', 'é', 'y-empty']);
  const pieces = await capture((s, out, ids) => s.sendFull(out, source, ids), 3);
  assert.equal(pieces.length, 3);
  const exact = await capture((s, out, ids) => s.sendFull(out, new ListSource(names.slice(0, 6).map(listed), []), ids), 3);
  assert.equal(exact.length, 2, 'a tree that fills its pieces exactly has no empty last piece');
  let after: string | undefined;
  for (const [i, p] of pieces.entries()) {
    assert.ok(p.scope?.kind === 'piece');
    assert.equal(p.scope.index, i);
    assert.equal(p.scope.from, after, 'each piece starts where the previous ended');
    assert.ok(p.files.length <= 3);
    after = p.scope.to;
  }
  assert.equal(after, undefined, 'the last piece runs to the end');
  assert.deepEqual(pieces.map((p) => p.scope?.kind === 'piece' && p.scope.count), [0, 0, 3], 'the count is known at the last piece');
  const all = pieces.flatMap((p) => p.files.map((f) => f.path));
  assert.deepEqual(all, [...names].sort((a, b) => Buffer.compare(pathToBytes(a), pathToBytes(b))), 'every file once, in wire byte order');
  assert.deepEqual(pieces.flatMap((p) => p.dirs), ['a', 'b', 'y-empty', 'z', 'é'], 'every directory once, in its range');
});

test('a delta lists what went and what was removed since the last, numbered; an empty one is not sent', async () => {
  const deltas = await capture(async (s, out, ids) => {
    s.noteSent(listed('a'));
    s.noteSent(listed('b'));
    s.noteRemoved('b');
    s.noteRemoved('old');
    await s.sendDelta(out, ids);
    await s.sendDelta(out, ids);
    s.noteSent(listed('c'));
    await s.sendDelta(out, ids);
  }, 10);
  assert.equal(deltas.length, 2);
  assert.deepEqual(deltas[0]!.scope, { kind: 'delta', seq: 1, removed: ['b', 'old'] });
  assert.deepEqual(deltas[0]!.files.map((f) => f.path), ['a']);
  assert.deepEqual(deltas[1]!.scope, { kind: 'delta', seq: 2, removed: [] });
});

test('more changes than a piece holds: the delta is dropped and its number skipped, so the receiver knows it missed one', async () => {
  const deltas = await capture(async (s, out, ids) => {
    for (let i = 0; i < 5; i++) s.noteSent(listed(`f${i}`));
    await s.sendDelta(out, ids);
    s.noteSent(listed('next'));
    await s.sendDelta(out, ids);
  }, 4);
  assert.equal(deltas.length, 1);
  assert.deepEqual(deltas[0]!.scope, { kind: 'delta', seq: 2, removed: [] });
});

test('watch mode paces a cycle: the first goes at once, the next spreads its pieces over the interval', async () => {
  const source = new ListSource(['a', 'b', 'c', 'd', 'e'].map(listed), []);
  await capture(async (s, out, ids) => {
    assert.equal(s.nextPieceAt(60_000), 0, 'no cycle yet: due now');
    await s.sendPiecesDue(out, source, ids, 60_000);
    assert.equal(s.cycle, 1);
    const next = s.nextPieceAt(60_000);
    assert.ok(next > Date.now() + 50_000, 'the next cycle is an interval after the first began');
    await s.sendPiecesDue(out, source, ids, 60_000);
    assert.equal(s.cycle, 1, 'nothing due before then');
  }, 2);
});

test('directories of a sorted list in a range; the piece size knob', () => {
  const dirs = ['a', 'b', 'c', 'd'];
  assert.deepEqual(dirsIn(dirs, undefined, 'b'), ['a', 'b']);
  assert.deepEqual(dirsIn(dirs, 'b', 'c'), ['c']);
  assert.deepEqual(dirsIn(dirs, 'c', undefined), ['d']);
  assert.deepEqual(dirsIn(dirs, 'bb', 'cc'), ['c']);
  assert.equal(pieceFilesLimit({}), 10_000);
  assert.equal(pieceFilesLimit({ DIODESYNC_MANIFEST_PIECE_FILES: '7' }), 7);
  assert.equal(pieceFilesLimit({ DIODESYNC_MANIFEST_PIECE_FILES: 'lots' }), 10_000);
});

test('a cycle that is costly to build stretches the interval: at most 1% of a core goes to manifests', async () => {
  /**
   * A source whose every page takes 30 ms of CPU, as a million-file ledger's pages add up to
   * seconds. CPU, not the clock: the stretch counts CPU time, and on a busy machine 30 ms by the
   * clock were less (the next cycle came at +5,000 ms).
   */
  class SlowSource extends ListSource {
    override listedFiles(after: string | undefined, limit: number): ListedFile[] {
      const began = process.cpuUsage();
      const spent = () => { const u = process.cpuUsage(began); return (u.user + u.system) / 1000; };
      while (spent() < 30) { /* reading the ledger */ }
      return super.listedFiles(after, limit);
    }
  }
  const source = new SlowSource(['a', 'b', 'c', 'd'].map(listed), []);
  await capture(async (s, out, ids) => {
    const began = Date.now();
    await s.sendPiecesDue(out, source, ids, 1_000);
    assert.equal(s.cycle, 1);
    // Two pieces, 30 ms or more each: the next cycle waits at least 100 x 60 ms, not the 1 s asked.
    assert.ok(s.nextPieceAt(1_000) >= began + 6_000, `next cycle at +${s.nextPieceAt(1_000) - began} ms`);
    assert.ok(s.nextPieceAt(60_000) - began >= 60_000, 'a longer interval is kept as it is');
  }, 2);
});
