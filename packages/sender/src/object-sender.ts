import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { FrameType, encodeObjectHeader, type ObjectHeader } from '@diodesync/protocol';
import { codedGroups, interleaved } from './coded-groups.js';
import type { FrameEmitter } from './frame-emitter.js';

/** A copy of the object header every this many frames: a lost header costs at most this much of a pass. */
export const HEADER_EVERY = 256;
const READ_BLOCK_BYTES = 1024 * 1024;

export class SendStopped extends Error {
  override name = 'SendStopped';
}

/**
 * Sends header, then every chunk of `blocks` (concatenated object bytes) with the parity of the
 * FEC layout the header names, `depth` blocks interleaved.
 */
export async function sendObject(
  emitter: FrameEmitter,
  objectId: number,
  header: ObjectHeader,
  blocks: AsyncIterable<Buffer> | Iterable<Buffer>,
  pass: number,
  depth: number,
  signal?: AbortSignal,
): Promise<void> {
  const headerPayload = encodeObjectHeader(header);
  const headerFields = { type: FrameType.ObjectHeader, objectId, pass } as const;
  const sendHeader = () => emitter.emit(headerFields, headerPayload);
  await sendHeader();
  const fecK = header.fecK;
  const fecM = header.fecM;
  let sent = 0;
  let secondCopySent = false;
  for await (const group of codedGroups(blocks, header.chunkSize, { k: fecK, m: fecM }, depth)) {
    for (const { frame, column } of interleaved(group)) {
      if (signal?.aborted) throw new SendStopped();
      // A second copy after the first column, so a burst of up to `depth` frames cannot take both:
      // the frames that arrive before it are orphaned, but that is one frame per block, which FEC repairs.
      const secondCopy = column === 1 && !secondCopySent;
      if (secondCopy) secondCopySent = true;
      if (secondCopy || (sent > 0 && sent % HEADER_EVERY === 0)) {
        const wait = sendHeader();
        if (wait) await wait;
      }
      const wait = emitter.emit(
        { type: frame.type, objectId, chunkIndex: frame.chunkIndex, fecK, fecM, fecIndex: frame.fecIndex, pass },
        frame.payload,
      );
      if (wait) await wait;
      sent++;
    }
  }
}

export type FileSendOutcome = 'sent' | 'changed' | 'vanished';

/**
 * Streams one file version. The bytes are hashed as they are read: if the file changed
 * since it was hashed (size, mtime or content), the send is reported as 'changed' and the
 * receiver, whose header carries the old hash, will reject what it got: never a torn file.
 */
export async function sendFile(
  emitter: FrameEmitter,
  objectId: number,
  header: ObjectHeader,
  absPath: string,
  pass: number,
  depth: number,
  signal?: AbortSignal,
): Promise<FileSendOutcome> {
  let fh: FileHandle;
  try {
    fh = await open(absPath, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'vanished';
    throw err;
  }
  try {
    const before = await fh.stat();
    if (before.size !== header.size || before.mtimeMs !== header.mtimeMs) return 'changed';
    const hash = createHash('sha256');
    const reading = { complete: true };
    await sendObject(emitter, objectId, header, readBlocks(fh, header, hash, reading), pass, depth, signal);
    const after = await fh.stat();
    const same = reading.complete && after.size === header.size && after.mtimeMs === header.mtimeMs;
    return same && hash.digest().equals(header.sha256) ? 'sent' : 'changed';
  } finally {
    await fh.close();
  }
}

async function* readBlocks(fh: FileHandle, header: ObjectHeader, hash: Hash, reading: { complete: boolean }) {
  const blockBytes = Math.max(1, Math.floor(READ_BLOCK_BYTES / header.chunkSize)) * header.chunkSize;
  for (let position = 0; position < header.size; ) {
    // A fresh buffer per block: chunks of it may still sit in the socket's send queue.
    const want = Math.min(blockBytes, header.size - position);
    const block = Buffer.allocUnsafe(want);
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
