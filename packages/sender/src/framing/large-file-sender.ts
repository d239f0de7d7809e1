import { createHash, type Hash } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { fsPath, type ObjectHeader } from '@diodesync/protocol';
import type { SourceFile } from '../inventory/scan.js';
import { hashOpenFile } from './file-hash.js';
import type { Interleaver } from './interleaver.js';
import { sendObject } from './object-sender.js';

const READ_BLOCK_BYTES = 1024 * 1024;

/** What a large file's send needs: the file, where its frames go, and its header once the hash is known. */
export interface LargeFileSend {
  file: SourceFile;
  objectId: number;
  pass: number;
  /** The hash the ledger knows; undefined on the first send (hashed here). */
  sha256: Buffer | undefined;
  header(sha256: Buffer): ObjectHeader;
  /** The hash, as soon as it is known and before any frame (the ledger keeps it). */
  onHashed(sha256: Buffer): void;
}

/**
 * Sends a file above the small-file size (those are read whole, once: small-file-reader.ts).
 *
 * First send (no hash yet): hashed once, read twice. The header, which carries the SHA-256,
 * goes before the data, so the frames cannot come from the reads that hash: the receiver keys an
 * object by its header's hash and holds frames that come before their header only 8 MB / 5 s (its
 * orphan buffer), so sending the header after the data would lose a large file's first pass
 * (with -R 1, the file); holding the file in memory is no option for large files. So the first
 * read hashes and the second frames (from the page cache where the file fits), without the second
 * SHA-256 that cost 16% of the sender. What that hash proved (the frames carry the hashed bytes)
 * the open descriptor's status proves: both reads use it (a rename over the path changes nothing
 * it reads), and its size, mtime and ctime must be the same before the hash, between the reads
 * and after the last frame. Every write, truncate or utimes moves ctime, which no program can set
 * back; and a change right after a stat gets a new ctime even within one clock tick (multigrain
 * timestamps, Linux 6.13+; before that, the settle time keeps the last change ticks away).
 *
 * Later sends (hash in the ledger): one read, hashed as it goes, which must match: between two
 * sends the file may have been rewritten with its mtime set back.
 */
export async function sendLargeFile(out: Interleaver, send: LargeFileSend): Promise<'sent' | 'changed'> {
  let fh: FileHandle;
  try {
    fh = await open(fsPath(send.file.absPath), 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'changed';
    throw err;
  }
  try {
    const before = await fh.stat({ bigint: true });
    if (Number(before.size) !== send.file.size || before.mtimeNs !== send.file.mtimeNs) return 'changed';
    if (send.sha256) return await sendVerifyingHash(out, fh, send, send.sha256);
    const { sha256, size } = await hashOpenFile(fh, send.file.size);
    if (size !== send.file.size || !sameVersion(before, await fh.stat({ bigint: true }))) return 'changed';
    send.onHashed(sha256);
    const header = send.header(sha256);
    const reading = { complete: true };
    await sendObject(out, send.objectId, header, readBlocks(fh, header.size, header.chunkSize, reading, reusable(out, header)), send.pass);
    return reading.complete && sameVersion(before, await fh.stat({ bigint: true })) ? 'sent' : 'changed';
  } finally {
    await fh.close();
  }
}

/** One read, hashed as the frames go: a file rewritten since its hash was kept is reported changed. */
async function sendVerifyingHash(out: Interleaver, fh: FileHandle, send: LargeFileSend, sha256: Buffer): Promise<'sent' | 'changed'> {
  const header = send.header(sha256);
  const hash = createHash('sha256');
  const reading = { complete: true };
  await sendObject(out, send.objectId, header, readBlocks(fh, header.size, header.chunkSize, reading, reusable(out, header), hash), send.pass);
  const after = await fh.stat({ bigint: true });
  const same = reading.complete && Number(after.size) === header.size && after.mtimeNs === send.file.mtimeNs;
  return same && hash.digest().equals(sha256) ? 'sent' : 'changed';
}

/** The same file version: what any write, truncate or utimes would have moved. */
function sameVersion(a: BigIntStats, b: BigIntStats): boolean {
  return a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino;
}

/**
 * Without FEC nothing holds a chunk once the emitter has it (it is copied into the sink's batch,
 * and the interleaver holds no block at depth 1): the file can be read into one buffer, reused,
 * instead of a new one per megabyte (garbage the collector had to find, and RSS).
 */
function reusable(out: Interleaver, header: ObjectHeader): boolean {
  return header.fecK === 0 && out.depth === 1;
}

async function* readBlocks(fh: FileHandle, size: number, chunkSize: number, reading: { complete: boolean }, reuse: boolean, hash?: Hash) {
  const blockBytes = Math.max(1, Math.floor(READ_BLOCK_BYTES / chunkSize)) * chunkSize;
  let spare: Buffer | undefined;
  for (let position = 0; position < size; ) {
    // Else a fresh buffer per block: the interleaver holds chunks of it until its group is sent.
    const want = Math.min(blockBytes, size - position);
    const block = spare?.length === want ? spare : Buffer.allocUnsafe(want);
    if (reuse) spare = block;
    let filled = 0;
    while (filled < want) {
      const { bytesRead } = await fh.read(block, filled, want - filled, position + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled < want) {
      reading.complete = false; // truncated while we read
      return;
    }
    hash?.update(block);
    position += want;
    yield block;
  }
}
