import type { FileHandle } from 'node:fs/promises';
import { startWriteback } from '@diodesync/native';

/**
 * After this many bytes written to a file, the kernel is asked to start writing its dirty pages
 * out (sync_file_range through @diodesync/native; nothing without the addon): a large file's
 * data then goes to disk while the rest arrives, and its final fdatasync waits for the last few
 * megabytes, not for all of them.
 */
const WRITEBACK_BYTES = 8 * 1024 * 1024;

/** One file's write-back requests: one per WRITEBACK_BYTES written, not awaited (writes go on), none while one is on its way. */
export class EarlyWriteback {
  private since = 0;
  private pending: Promise<unknown> | undefined;

  written(fh: FileHandle, bytes: number): void {
    this.since += bytes;
    if (this.since < WRITEBACK_BYTES || this.pending) return;
    this.since = 0;
    this.pending = startWriteback(fh.fd, 0, 0).catch(() => false).finally(() => (this.pending = undefined));
  }

  /** Resolves once no request is on its way: the file may be closed. */
  async settled(): Promise<void> {
    await this.pending;
  }
}

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
