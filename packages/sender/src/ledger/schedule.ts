import type { Version } from './version.js';

/** How often, and how far apart, every file version (and every delete or rename) is sent. */
export interface ScheduleOptions {
  /** Every file version is sent this many times. */
  redundancy: number;
  /** Minimum time between two sends of the same version, so one outage cannot eat every copy. */
  passIntervalMs: number;
}

/**
 * What to send, in what order, and when. Input: the current versions, as the ledger counts their
 * sends, and the pending announcements; output: the versions due now (new versions first, then
 * redundancy passes, each group in path order) and the time the next one is due.
 */
export class Schedule {
  /** Could not be read (permissions, I/O error): retried only once the file changes, or at the next start. */
  private readonly failed = new Set<number>();

  constructor(private readonly options: ScheduleOptions) {}

  get redundancy(): number {
    return this.options.redundancy;
  }

  /** Due for its next of R sends: never sent, or sent at least a pass interval ago. */
  dueNow(sends: number, lastSentAt: number, now: number): boolean {
    return sends === 0 || now - lastSentAt >= this.options.passIntervalMs;
  }

  isDue(v: Version, now: number): boolean {
    if (this.failed.has(v.id) || v.sendsDone >= this.options.redundancy) return false;
    return this.dueNow(v.sendsDone, v.lastSentAt, now);
  }

  /** The versions due now: new versions first, then redundancy passes, each group in the given (path) order. */
  due(versions: Iterable<Version>, now: number): Version[] {
    const due: Version[] = [];
    for (const v of versions) if (this.isDue(v, now)) due.push(v);
    return due.sort((a, b) => Number(a.sendsDone > 0) - Number(b.sendsDone > 0));
  }

  countDue(versions: Iterable<Version>, now: number): number {
    let n = 0;
    for (const v of versions) if (this.isDue(v, now)) n++;
    return n;
  }

  /** When the next send is due (or a settling file settles); undefined: nothing more to send. */
  nextDueAt(versions: Iterable<Version>, announcements: Iterable<{ sends: number; lastSentAt: number }>, settlingUntil: number | undefined): number | undefined {
    let next = settlingUntil;
    const consider = (sends: number, lastSentAt: number) => {
      const at = sends === 0 ? 0 : lastSentAt + this.options.passIntervalMs;
      next = next === undefined ? at : Math.min(next, at);
    };
    for (const v of versions) {
      if (!this.failed.has(v.id) && v.sendsDone < this.options.redundancy) consider(v.sendsDone, v.lastSentAt);
    }
    for (const a of announcements) consider(a.sends, a.lastSentAt);
    return next;
  }

  markFailed(v: Version): void {
    this.failed.add(v.id);
  }

  /** How many of these versions could not be read. */
  failedAmong(versions: Iterable<Version>): number {
    let n = 0;
    for (const v of versions) if (this.failed.has(v.id)) n++;
    return n;
  }
}
