import type { SourceFile } from './scan.js';

/**
 * Holds back files still being written. Input: each scan's files, and the file each path is
 * being sent as (its current version, if any); output: the files that may be sent now, and when
 * the next held-back file will have settled.
 */
export class Settler {
  private lastScan = new Map<string, SourceFile>();
  /** Earliest time a file still being written will have settled; undefined: none is settling. */
  settlingUntil: number | undefined;

  constructor(private readonly settleMs: number) {}

  /** The last scan saw this path (settled or not). */
  saw(relPath: string): boolean {
    return this.lastScan.has(relPath);
  }

  /**
   * The files that may be sent: quiet for --settle (size and mtime), or with a future mtime
   * (a skewed clock) but unchanged since the last scan. A file still being written keeps
   * the version it had, if any, until it settles.
   */
  settled(files: readonly SourceFile[], now: number, current: (relPath: string) => SourceFile | undefined): SourceFile[] {
    const { settleMs } = this;
    const previous = this.lastScan;
    this.lastScan = new Map(files.map((f) => [f.relPath, f]));
    this.settlingUntil = undefined;
    const out: SourceFile[] = [];
    for (const f of files) {
      const before = previous.get(f.relPath);
      const unchanged = before !== undefined && before.size === f.size && before.mtimeMs === f.mtimeMs;
      if (now - f.mtimeMs >= settleMs || (f.mtimeMs > now && unchanged)) {
        out.push(f);
        continue;
      }
      const known = current(f.relPath);
      if (known) out.push(known);
      const at = f.mtimeMs > now ? now + settleMs : f.mtimeMs + settleMs;
      this.settlingUntil = Math.min(this.settlingUntil ?? Infinity, at);
    }
    return out;
  }
}
