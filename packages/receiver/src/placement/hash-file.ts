import type { Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

const BLOCK = 1024 * 1024;

/** Feeds bytes [start, end) of an open file into `hash`, one bounded block at a time; returns how many it read. */
export async function hashFileRange(fh: FileHandle, hash: Hash, start: number, end: number): Promise<number> {
  const block = Buffer.allocUnsafe(Math.min(BLOCK, Math.max(1, end - start)));
  let pos = start;
  while (pos < end) {
    const { bytesRead } = await fh.read(block, 0, Math.min(block.length, end - pos), pos);
    if (bytesRead === 0) break;
    hash.update(block.subarray(0, bytesRead));
    pos += bytesRead;
  }
  return pos - start;
}
