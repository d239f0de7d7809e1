import type { Ledger, LedgerVersion } from './store.js';

/** How often, and how far apart, every file version (and every delete or rename) is sent. */
export interface ScheduleOptions {
  /** Every file version is sent this many times. */
  redundancy: number;
  /** Minimum time between two sends of the same version, so one outage cannot eat every copy. */
  passIntervalMs: number;
}

/** Due versions are read from the ledger this many at a time, or this many bytes (past the first). */
const PAGE_FILES = 10_000;
const PAGE_BYTES = 256 * 1024 * 1024;

/**
 * What to send, in what order, and when, asked of the ledger (no version is held in memory).
 * Input: the ledger's current versions and their sends, and the pending announcements; output:
 * the versions due now in bounded pages (new versions first, then redundancy passes, each group
 * in wire byte order of path), the queue (SQL aggregates), and the time the next one is due.
 */
export class Schedule {
  constructor(
    private readonly options: ScheduleOptions,
    private readonly ledger: Ledger,
    /** Versions not to be sent for now (they changed while being sent): no wake-up for them. */
    private readonly held: () => readonly number[] = () => [],
  ) {}

  get redundancy(): number {
    return this.options.redundancy;
  }

  /** Due for its next of R sends: never sent, or sent at least a pass interval ago. */
  dueNow(sends: number, lastSentAt: number, now: number): boolean {
    return sends === 0 || now - lastSentAt >= this.options.passIntervalMs;
  }

  /**
   * The versions due at `now`, a page at a time: new versions first, then redundancy passes,
   * each in path order. Read lazily: sends recorded meanwhile move rows out of the next pages.
   */
  *duePages(now: number, pageFiles = PAGE_FILES, pageBytes = PAGE_BYTES): Generator<LedgerVersion[]> {
    const due = this.ledger.dueSummary(now, this.options.passIntervalMs);
    for (const fresh of [true, false]) {
      const count = fresh ? due.fresh : due.again;
      if (count === 0) continue;
      let after: Buffer | undefined;
      for (;;) {
        const page = this.ledger.duePage(fresh, after, pageFiles, pageBytes, now, this.options.passIntervalMs, count <= pageFiles);
        if (page.length === 0) break;
        after = page[page.length - 1]!.k;
        yield page;
      }
    }
  }

  /** Versions due now and their bytes (the progress line's queue, the heartbeat's queue depth). */
  queue(now: number): { files: number; bytes: number } {
    const q = this.ledger.dueSummary(now, this.options.passIntervalMs, this.held());
    return { files: q.fresh + q.again, bytes: q.bytes };
  }

  /** When the next send is due (or a settling file settles); undefined: nothing more to send. */
  nextDueAt(announcements: Iterable<{ sends: number; lastSentAt: number }>, settlingUntil: number | undefined): number | undefined {
    let next = settlingUntil;
    const consider = (at: number | undefined) => {
      if (at !== undefined) next = next === undefined ? at : Math.min(next, at);
    };
    consider(this.ledger.nextDueAt(this.options.passIntervalMs, this.held()));
    for (const a of announcements) consider(a.sends === 0 ? 0 : a.lastSentAt + this.options.passIntervalMs);
    return next;
  }

  /** Versions that could not be read this run. */
  failed(): number {
    return this.ledger.countStatus('failed');
  }
}
