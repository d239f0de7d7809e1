import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { fsPath } from '@diodesync/protocol';

const BLOCK = 1024 * 1024;

/**
 * SHA-256 of a file, read in bounded blocks. `expectedSize` only sizes the buffer: a 1 MB
 * buffer per small file made garbage collection the sender's main cost on trees of small files.
 */
export async function hashFile(absPath: string, expectedSize = BLOCK): Promise<{ sha256: Buffer; size: number }> {
  const fh = await open(fsPath(absPath), 'r');
  try {
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
  } finally {
    await fh.close();
  }
}
