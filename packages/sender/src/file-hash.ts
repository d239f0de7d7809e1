import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

const BLOCK = 1024 * 1024;

/** SHA-256 of a file, read in bounded blocks. */
export async function hashFile(absPath: string): Promise<{ sha256: Buffer; size: number }> {
  const fh = await open(absPath, 'r');
  try {
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(BLOCK);
    let size = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, BLOCK, size);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      size += bytesRead;
    }
    return { sha256: hash.digest(), size };
  } finally {
    await fh.close();
  }
}
