import type { Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

/** The largest block read at once. */
export const BLOCK = 1024 * 1024;

/**
 * Feeds bytes [start, end) of an open file into `hash`, one bounded block at a time; returns how
 * many it read. A caller that hashes a file step by step passes its own `block` to read into.
 */
export async function hashFileRange(fh: FileHandle, hash: Hash, start: number, end: number, block: Buffer = Buffer.allocUnsafe(Math.min(BLOCK, Math.max(1, end - start)))): Promise<number> {
  let pos = start;
  while (pos < end) {
    const { bytesRead } = await fh.read(block, 0, Math.min(block.length, end - pos), pos);
    if (bytesRead === 0) break;
    hash.update(block.subarray(0, bytesRead));
    pos += bytesRead;
  }
  return pos - start;
}
