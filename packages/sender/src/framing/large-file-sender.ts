import { createHash, type Hash } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { fsPath, type ObjectHeader } from '@diodesync/protocol';
import type { SourceFile } from '../inventory/scan.js';
import type { Interleaver } from './interleaver.js';
import { sendObject } from './object-sender.js';

const READ_BLOCK_BYTES = 1024 * 1024;

/** What a large file's send needs: the file, where its frames go, and its header (the hash once known). */
export interface LargeFileSend {
  file: SourceFile;
  objectId: number;
  pass: number;
  /** The hash the ledger knows; undefined on the first send (hashed here, as it is read). */
  sha256: Buffer | undefined;
  header(sha256: Buffer | undefined): ObjectHeader;
  /** The hash, once the file is read and known unchanged, before the header that carries it (the ledger keeps it). */
  onHashed(sha256: Buffer): void;
}

/**
 * Sends a file above the small-file size (those are read whole, once: small-file-reader.ts). Each
 * send reads the file once, hashing and framing the same reads.
 *
 * First send (no hash yet): the header goes first without the hash, and again with it once the
 * file is read (object-sender.ts); the receiver assembles the object meanwhile and verifies it
 * once the hash has come. Hashing first and framing a second read cost a second pass over the
 * file before its first frame (0.39 s of 500 MB here; for a file larger than the page cache, a
 * second read from the disk). The hash proves the frames carry the bytes that were read, not that
 * those bytes are one version of the file: the open descriptor's status does. Every read uses it
 * (a rename over the path changes nothing it reads), and its size, mtime and ctime must be the
 * same before the first read and after the last; otherwise the header with the hash is never
 * sent, so a torn copy is never completed. Every write, truncate or utimes moves ctime, which no
 * program can set back; and a change right after a stat gets a new ctime even within one clock
 * tick (multigrain timestamps, Linux 6.13+; before that, the settle time keeps the last change
 * ticks away).
 *
 * Later sends (hash in the ledger): the header with the hash first, and the bytes read must match
 * it: between two sends the file may have been rewritten with its mtime set back.
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
    const header = send.header(undefined);
    const hash = createHash('sha256');
    const reading = { complete: true };
    let sent = false;
    const withHash = async () => {
      if (!reading.complete || !sameVersion(before, await fh.stat({ bigint: true }))) return undefined;
      const sha256 = hash.digest();
      send.onHashed(sha256);
      sent = true;
      return send.header(sha256);
    };
    await sendObject(out, send.objectId, header, readBlocks(fh, header.size, header.chunkSize, reading, reusable(out, header), hash), send.pass, withHash);
    return sent ? 'sent' : 'changed';
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

async function* readBlocks(fh: FileHandle, size: number, chunkSize: number, reading: { complete: boolean }, reuse: boolean, hash: Hash) {
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
    hash.update(block);
    position += want;
    yield block;
  }
}
