import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

const BLOCK = 1024 * 1024;

/**
 * SHA-256 of an open file, read in bounded blocks (its reader checks the descriptor's status
 * around it). `expectedSize` only sizes the buffer: a 1 MB buffer per small file made garbage
 * collection the sender's main cost on trees of small files.
 */
export async function hashOpenFile(fh: FileHandle, expectedSize = BLOCK): Promise<{ sha256: Buffer; size: number }> {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(Math.max(1, Math.min(BLOCK, expectedSize + 1)));
  let size = 0;
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, buf.length, size);
    if (bytesRead === 0) break;
    hash.update(buf.subarray(0, bytesRead));
    size += bytesRead;
  }
  return { sha256: hash.digest(), size };
}
