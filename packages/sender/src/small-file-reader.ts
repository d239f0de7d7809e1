import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import PQueue from 'p-queue';
import type { SourceFile } from './scan.js';

/** Files up to this size are read whole, once: the same bytes are hashed and sent. */
export const SMALL_FILE_BYTES = 256 * 1024;
/** How many small files are read ahead of the one on the wire (at most 8 MiB held). */
const READ_AHEAD = 32;

export type SmallFile = { data: Buffer; sha256: Buffer } | 'changed';

/**
 * Reads a small file whole and hashes it. If its size or mtime moved while we read, the bytes
 * may be a mix of two versions: report 'changed' rather than send them.
 */
export async function readSmallFile(file: SourceFile): Promise<SmallFile> {
  const fh = await open(file.absPath, 'r');
  try {
    const before = await fh.stat();
    if (before.size !== file.size || before.mtimeMs !== file.mtimeMs) return 'changed';
    const data = Buffer.allocUnsafe(file.size);
    let filled = 0;
    while (filled < data.length) {
      const { bytesRead } = await fh.read(data, filled, data.length - filled, filled);
      if (bytesRead === 0) return 'changed';
      filled += bytesRead;
    }
    const after = await fh.stat();
    if (after.size !== file.size || after.mtimeMs !== file.mtimeMs) return 'changed';
    return { data, sha256: createHash('sha256').update(data).digest() };
  } finally {
    await fh.close();
  }
}

/**
 * Reads the small files of a send list ahead of the sender, a few at a time (p-queue), so that
 * opening and reading the next files overlaps sending the current one: on a tree of small
 * files the sender otherwise spends most of its time waiting for the disk.
 */
export class ReadAhead {
  private readonly reads = new PQueue({ concurrency: 4 });
  private readonly pending = new Map<SourceFile, Promise<SmallFile>>();
  private next = 0;

  constructor(private readonly files: readonly SourceFile[]) {}

  /** The contents of files[index] if it is small (read ahead), else undefined; schedules the next reads. */
  take(index: number): Promise<SmallFile> | undefined {
    for (; this.next < this.files.length && this.next <= index + READ_AHEAD; this.next++) {
      const file = this.files[this.next]!;
      if (file.size > SMALL_FILE_BYTES) continue;
      const read = this.reads.add(() => readSmallFile(file)) as Promise<SmallFile>;
      read.catch(() => undefined); // reported when taken; a stopped sender never takes it
      this.pending.set(file, read);
    }
    const file = this.files[index]!;
    const read = this.pending.get(file);
    this.pending.delete(file);
    return read;
  }
}
