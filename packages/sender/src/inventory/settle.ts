import type { SourceFile } from './scan.js';

/** Files remembered as still being written; past this many, the oldest is forgotten (it is looked at again at the next walk). */
const MAX_UNSETTLED = 100_000;

interface Unsettled {
  size: number;
  mtimeMs: number;
  /** When to look at it again. */
  until: number;
}

/**
 * Holds back files still being written. Input: each file as a walk (or an event) finds it;
 * output: whether it may be sent now, and when the next held-back file will have settled.
 * Remembers only the files not yet settled (bounded), never the tree: a file being written keeps
 * the version it has in the ledger until it settles.
 */
export class Settler {
  private readonly unsettled = new Map<string, Unsettled>();

  constructor(private readonly settleMs: number) {}

  /**
   * Quiet for --settle (size and mtime), or with a future mtime (a skewed clock) but unchanged
   * since it was last looked at: it may be sent. Else it is remembered, to be looked at again.
   */
  isSettled(f: SourceFile, now: number): boolean {
    const before = this.unsettled.get(f.relPath);
    const unchanged = before !== undefined && before.size === f.size && before.mtimeMs === f.mtimeMs;
    if (now - f.mtimeMs >= this.settleMs || (f.mtimeMs > now && unchanged)) {
      this.unsettled.delete(f.relPath);
      return true;
    }
    if (!before && this.unsettled.size >= MAX_UNSETTLED) this.unsettled.delete(this.unsettled.keys().next().value!);
    const until = f.mtimeMs > now ? now + this.settleMs : f.mtimeMs + this.settleMs;
    this.unsettled.set(f.relPath, { size: f.size, mtimeMs: f.mtimeMs, until });
    return false;
  }

  /** The file was last seen still being written. */
  holds(relPath: string): boolean {
    return this.unsettled.has(relPath);
  }

  /** The path is no longer a file of the tree. */
  forget(relPath: string): void {
    this.unsettled.delete(relPath);
  }

  /** Earliest time a file still being written will have settled; undefined: none is settling. */
  get settlingUntil(): number | undefined {
    let next: number | undefined;
    for (const u of this.unsettled.values()) next = Math.min(next ?? Infinity, u.until);
    return next;
  }

  /** The files due for another look at `now`. */
  dueAt(now: number): string[] {
    const due: string[] = [];
    for (const [path, u] of this.unsettled) if (u.until <= now) due.push(path);
    return due;
  }
}
