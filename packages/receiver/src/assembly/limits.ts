import { statfs } from 'node:fs/promises';
import type { ObjectHeader } from '@diodesync/protocol';

/** --min-free: bytes, or a percentage of the file system. */
export type FreeFloor = { bytes: number } | { percent: number };

export interface LimitSettings {
  maxFileSize: number;
  /** Files in the mirror plus objects being assembled. */
  maxFiles: number;
  minFree: FreeFloor;
}

export type LimitBreach = 'max-file-size' | 'max-files' | 'min-free';

/** A manifest is decoded in memory: beyond this it is refused whatever --max-file-size says (about 2 million files). */
export const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;

/**
 * Chunks of all objects being assembled at once: each costs a bit of bitmap in memory and in
 * every checkpoint, so 2^27 chunks (16 MiB of bitmaps) is the ceiling. A 64 GiB file of
 * 1408-byte chunks (MTU 1500) needs 49 million.
 */
export const MAX_ASSEMBLY_CHUNKS = 2 ** 27;

/** Parses --min-free: '1g', '512m', '5%'. */
export function parseFreeFloor(text: string, parseBytes: (t: string) => number): FreeFloor {
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(text.trim());
  if (pct) {
    const percent = Number(pct[1]);
    if (percent > 100) throw new Error(`'${text}': at most 100%`);
    return { percent };
  }
  return { bytes: parseBytes(text) };
}

/**
 * Decides whether a new object may start, from its announced size, the number of files,
 * and the free space left on the file systems it will be written to (refreshed by `refresh`).
 */
export class ResourceLimits {
  /** Bytes free above the floor, on the tightest of the watched file systems; Infinity until measured. */
  private headroom = Infinity;

  constructor(private readonly settings: LimitSettings, private readonly dirs: string[]) {}

  /** Measures free space again (statfs is cheap: the receiver calls this about once a second). */
  async refresh(): Promise<void> {
    let headroom = Infinity;
    for (const dir of this.dirs) {
      const fs = await statfs(dir);
      const floor = 'bytes' in this.settings.minFree ? this.settings.minFree.bytes : (fs.blocks * fs.bsize * this.settings.minFree.percent) / 100;
      headroom = Math.min(headroom, fs.bavail * fs.bsize - floor);
    }
    this.headroom = headroom;
  }

  /**
   * Why this object may not start, or undefined. `files` counts the mirror and the objects under
   * way; `reserved` is what those objects may still write.
   */
  breach(header: ObjectHeader, files: number, reserved: number): LimitBreach | undefined {
    // The manifest is bounded by memory only: without it the receiver could not say what it lacks.
    if (header.kind === 'manifest') return header.size > MAX_MANIFEST_BYTES ? 'max-file-size' : undefined;
    if (header.size > this.settings.maxFileSize || header.chunkCount > MAX_ASSEMBLY_CHUNKS) return 'max-file-size';
    if (header.kind === 'file' && files >= this.settings.maxFiles) return 'max-files';
    if (header.size + reserved > this.headroom) return 'min-free';
    return undefined;
  }
}
