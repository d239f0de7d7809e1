import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FrameType, decodeObjectHeader, type FrameHeader, type ObjectHeader } from '@diodesync/protocol';
import type { SourceFile } from '../inventory/scan.js';
import { TokenBucket } from '../transport/rate-limiter.js';
import type { FrameSink } from '../transport/frame-sink.js';
import { FileFramer, type FileObject } from './file-framer.js';
import { FrameEmitter } from './frame-emitter.js';
import { ObjectPasses } from './object-pass.js';
import { memoryWire } from './memory-wire.test-support.js';

const fec = { chunkSize: 1024, fec: { k: 4, m: 1 }, interleave: 4 };
const noFec = { chunkSize: 1024, fec: { k: 0, m: 0 }, interleave: 4 };
const SIZE = 3 * 1024 * 1024 + 123; // above the small-file size: read by large-file-sender

function sourceFile(absPath: string): SourceFile {
  const st = statSync(absPath, { bigint: true });
  return { relPath: 'big.bin', absPath, size: Number(st.size), mtimeMs: Number(st.mtimeNs) / 1e6, mtimeNs: st.mtimeNs, mode: 0o644, ino: Number(st.ino) };
}

/** A sink that keeps every frame's header, the object headers decoded, and runs `onData` at the given data frame. */
function wire(onData?: { at: number; run: () => void }): { sink: FrameSink; frames: FrameHeader[]; data: Map<number, Buffer>; headers: ObjectHeader[] } {
  const data = new Map<number, Buffer>();
  const headers: ObjectHeader[] = [];
  const { sink, frames } = memoryWire((frame) => {
    if (frame.header.type === FrameType.ObjectHeader) headers.push(decodeObjectHeader(frame.payload));
    if (frame.header.type !== FrameType.Data) return;
    data.set(frame.header.chunkIndex, frame.payload);
    if (data.size === onData?.at) onData.run();
  });
  return { sink, frames, data, headers };
}

async function sendOnce(absPath: string, sink: FrameSink, sha256?: Buffer, options = fec) {
  const hashed: Buffer[] = [];
  const framer = new FileFramer<FileObject>(options, (_v, sha) => hashed.push(sha));
  const passes = new ObjectPasses(new FrameEmitter(1, sink, new TokenBucket(1e12)), options, new AbortController().signal, () => undefined);
  const outcome = await passes.run((out) => framer.send(out, { file: sourceFile(absPath), objectId: 7, sha256 }, 1, undefined));
  return { outcome, hashed };
}

function withFile(fn: (absPath: string, content: Buffer) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'large-file-'));
    try {
      const content = randomBytes(SIZE);
      const absPath = join(dir, 'big.bin');
      writeFileSync(absPath, content);
      utimesSync(absPath, 1_700_000_000, 1_700_000_000); // settled long ago, as the scan would require
      await fn(absPath, content);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('a first send reads once: the header goes first without the hash, and with it (four times more) once the file is read', withFile(async (absPath, content) => {
  const { sink, frames, headers } = wire();
  const { outcome, hashed } = await sendOnce(absPath, sink);
  assert.equal(outcome, 'sent');
  const sha256 = createHash('sha256').update(content).digest();
  assert.deepEqual(hashed, [sha256]);
  assert.equal(frames[0]!.type, FrameType.ObjectHeader, 'a header goes first');
  assert.equal(headers[0]!.sha256, undefined, 'without the hash, which is not known yet');
  let h = 0;
  const seq = frames.map((f) => (f.type === FrameType.ObjectHeader ? (headers[h++]!.sha256 ? 'hash' : 'header') : f.type === FrameType.Data ? 'data' : 'parity'));
  assert.ok(seq.indexOf('hash') > seq.indexOf('data'), 'the hash comes after data');
  assert.ok(seq.indexOf('hash') <= seq.lastIndexOf('data') + 1, 'and no later than right after the last data frame');
  const withHash = headers.filter((h) => h.sha256);
  assert.ok(withHash.length >= 4, `${withHash.length} copies of the header with the hash`);
  for (const h of withHash) assert.ok(h.sha256!.equals(sha256));
  assert.equal(frames.filter((f) => f.type === FrameType.Data).length, Math.ceil(SIZE / 1024));
}));

test('a later send sends the header with the hash from its first frame', withFile(async (absPath, content) => {
  const { sink, headers } = wire();
  const sha256 = createHash('sha256').update(content).digest();
  assert.equal((await sendOnce(absPath, sink, sha256)).outcome, 'sent');
  assert.ok(headers.length > 0 && headers.every((h) => h.sha256?.equals(sha256)));
}));

test('a first send of a file rewritten during the send, its mtime set back, is reported changed', withFile(async (absPath) => {
  const rewrite = () => {
    // Same size, same mtime: only ctime tells, as with a tool that keeps times (cp -p, rsync -t).
    const fd = openSync(absPath, 'r+');
    writeSync(fd, randomBytes(4096), 0, 4096, SIZE - 4096);
    closeSync(fd);
    utimesSync(absPath, 1_700_000_000, 1_700_000_000);
  };
  const { sink, headers } = wire({ at: 10, run: rewrite });
  const { outcome, hashed } = await sendOnce(absPath, sink);
  assert.equal(outcome, 'changed');
  assert.deepEqual(hashed, [], 'no hash kept');
  assert.ok(headers.length > 0 && headers.every((h) => h.sha256 === undefined), 'a torn copy never gets the hash that would complete it');
}));

test('a later send whose bytes no longer match the hash the ledger kept is reported changed', withFile(async (absPath, content) => {
  const { sink } = wire();
  const right = createHash('sha256').update(content).digest();
  assert.equal((await sendOnce(absPath, sink, right)).outcome, 'sent');
  const wrong = Buffer.from(right);
  wrong[0]! ^= 1;
  const again = await sendOnce(absPath, wire().sink, wrong);
  assert.equal(again.outcome, 'changed');
  assert.deepEqual(again.hashed, [], 'a known hash is not hashed anew before the send');
}));

test('a file truncated while it is framed is reported changed', withFile(async (absPath) => {
  const { sink, headers } = wire({ at: 10, run: () => writeFileSync(absPath, randomBytes(1000)) });
  assert.equal((await sendOnce(absPath, sink)).outcome, 'changed');
  assert.ok(headers.every((h) => h.sha256 === undefined));
}));

test('without FEC (one read buffer, reused), both sends carry the file byte for byte', withFile(async (absPath, content) => {
  const first = wire();
  const { outcome, hashed } = await sendOnce(absPath, first.sink, undefined, noFec);
  assert.equal(outcome, 'sent');
  const later = wire();
  assert.equal((await sendOnce(absPath, later.sink, hashed[0], noFec)).outcome, 'sent');
  for (const { data } of [first, later]) {
    assert.equal(data.size, Math.ceil(SIZE / 1024));
    assert.ok(Buffer.concat([...data.keys()].sort((a, b) => a - b).map((i) => data.get(i)!)).equals(content));
  }
}));
