import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { encodeObjectHeader, fsPath, type ObjectHeader } from '@diodesync/protocol';
import { codedBlocks } from './coded-groups.js';
import type { Interleaver, ObjectStream } from './interleaver.js';

const READ_BLOCK_BYTES = 1024 * 1024;

/** Sends the header, then every block of `blocks` (concatenated object bytes) through the interleaver. */
export async function sendObject(
  interleaver: Interleaver,
  objectId: number,
  header: ObjectHeader,
  blocks: AsyncIterable<Buffer> | Iterable<Buffer>,
  pass: number,
): Promise<void> {
  const stream: ObjectStream = {
    objectId, pass, fecK: header.fecK, fecM: header.fecM, header: encodeObjectHeader(header), sent: 0, secondCopySent: false,
  };
  await interleaver.open(stream);
  for await (const block of codedBlocks(blocks, header.chunkSize, { k: header.fecK, m: header.fecM })) {
    await interleaver.add(stream, block);
  }
  if (header.chunkCount === 0 && header.fecK > 0) await interleaver.addEmpty(stream);
}

export type FileSendOutcome = 'sent' | 'changed' | 'vanished';

/**
 * Streams one file version. The bytes are hashed as they are read: if the file changed
 * since it was hashed (size, mtime or content), the send is reported as 'changed' and the
 * receiver, whose header carries the old hash, will reject what it got: never a torn file.
 */
export async function sendFile(
  interleaver: Interleaver,
  objectId: number,
  header: ObjectHeader,
  absPath: string,
  pass: number,
): Promise<FileSendOutcome> {
  let fh: FileHandle;
  try {
    fh = await open(fsPath(absPath), 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'vanished';
    throw err;
  }
  try {
    const before = await fh.stat();
    if (before.size !== header.size || before.mtimeMs !== header.mtimeMs) return 'changed';
    const hash = createHash('sha256');
    const reading = { complete: true };
    await sendObject(interleaver, objectId, header, readBlocks(fh, header, hash, reading), pass);
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
