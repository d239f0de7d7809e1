import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Without inotify watches left (ENOSPC), a walk this long after the last stands in for events: a
 * small tree is looked at every second; a big one is walked without a break at the bounded rate.
 */
export const POLL_FALLBACK_MS = 1000;
/** Entries per second a paced walk visits at least (a small tree is walked in a moment)... */
const MIN_RATE = 200;
/** ...and, when walks are the only source (--poll), at most: polling a huge share must not eat the machine. */
const POLL_MAX_RATE = 10_000;
/** A walk in watch mode takes about this fraction of --rescan: the work spread out, not all at once. */
const SPREAD = 0.75;

/** A paced walk given up because the sender stops (what it synced so far stays synced). */
export class WalkStopped extends Error {}

/**
 * When the full walks of watch mode run, and how fast. With events: one every --rescan, paced so
 * that it takes most of the interval (the cost of a million files spread over it, not a burst).
 * Without (--poll MS, or no inotify watches): one MS after the last ended, at a bounded rate.
 * Input: the entries each walk visited; output: when the next walk is due, and pauses within one.
 */
export class WalkPacer {
  nextWalkAt = 0;
  private walkStartedAt = 0;
  private entries = 0;
  private soon = false;
  /** This walk stands in for lost events: it goes at POLL_MAX_RATE. */
  private urgent = false;
  private readonly stopper = new AbortController();

  constructor(
    private readonly rescanMs: number,
    private pollMs: number | undefined,
    signal: AbortSignal,
  ) {
    signal.addEventListener('abort', () => this.stopper.abort(), { once: true });
  }

  /** A walk starts now; one asked for by walkSoon() goes at the polling rate's top, not spread over the interval. */
  started(now: number): void {
    this.walkStartedAt = now;
    this.urgent = this.soon;
    this.soon = false;
  }

  /** A walk ended, having visited this many entries: the next one is scheduled. */
  walked(entries: number): void {
    const now = Date.now();
    this.entries = entries;
    if (this.soon) this.nextWalkAt = now; // events were lost during this walk, maybe where it had passed
    else if (this.pollMs !== undefined) this.nextWalkAt = now + this.pollMs;
    else this.nextWalkAt = (this.walkStartedAt || now) + this.rescanMs;
  }

  walkDue(now: number): boolean {
    return now >= this.nextWalkAt;
  }

  /** Events were lost (too many at once, or a watch failed): only a walk knows what changed. */
  walkSoon(): void {
    this.soon = true;
    this.nextWalkAt = Math.min(this.nextWalkAt, Date.now());
  }

  fallBackToPolling(): void {
    this.pollMs = POLL_FALLBACK_MS;
    this.nextWalkAt = Math.min(this.nextWalkAt, Date.now() + this.pollMs);
  }

  /** Entries per second for the next walk, from the size of the last. */
  get rate(): number {
    if (this.urgent) return POLL_MAX_RATE;
    if (this.pollMs !== undefined) return Math.min(POLL_MAX_RATE, Math.max(MIN_RATE, (this.entries * 1000) / this.pollMs));
    return Math.max(MIN_RATE, (this.entries * 1000) / (this.rescanMs * SPREAD));
  }

  /** Within a walk, after `entries` entries: waits until the walk is back on its pace; throws WalkStopped once the sender stops. */
  async pace(entries: number): Promise<void> {
    const due = this.walkStartedAt + (entries * 1000) / this.rate;
    const ms = due - Date.now();
    if (ms > 0) await sleep(ms, undefined, { signal: this.stopper.signal }).catch(() => undefined);
    if (this.stopper.signal.aborted) throw new WalkStopped();
  }

  /** The sender stops: a paced walk waits no more. */
  stop(): void {
    this.stopper.abort();
  }
}
