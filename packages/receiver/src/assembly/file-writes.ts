import type { FileHandle } from 'node:fs/promises';

/** True if every byte is zero: such a chunk is not written, so the temp file (sparse) keeps a hole there. */
export function isZeros(buf: Buffer): boolean {
  // Most chunks differ from zeros in their first bytes: a cheap test before the full compare.
  if (buf.length === 0 || buf[0] !== 0 || buf[buf.length - 1] !== 0) return false;
  return buf.equals(zeros(buf.length));
}
let zeroBlock = Buffer.alloc(0);
function zeros(length: number): Buffer {
  if (zeroBlock.length < length) zeroBlock = Buffer.alloc(length);
  return zeroBlock.subarray(0, length);
}

/** Writes every byte of `buffers` at `position`: a short write (near a full disk) is continued, never ignored. */
export async function writeFully(fh: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let rest = buffers;
  while (rest.length > 0) {
    const { bytesWritten } = await fh.writev(rest, position);
    if (bytesWritten === 0) throw Object.assign(new Error('no progress writing (disk full?)'), { code: 'ENOSPC' });
    position += bytesWritten;
    rest = skipBytes(rest, bytesWritten);
  }
}

function skipBytes(buffers: Buffer[], n: number): Buffer[] {
  let i = 0;
  while (i < buffers.length && n >= buffers[i]!.length) n -= buffers[i++]!.length;
  if (i === buffers.length) return [];
  return [buffers[i]!.subarray(n), ...buffers.slice(i + 1)];
}
