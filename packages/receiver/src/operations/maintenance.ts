/** Maintenance runs every 200 ms; checkpoints (and free-space checks) every second. */
const TICK_MS = 200;
const CHECKPOINT_EVERY_TICKS = 5;

/**
 * The receiver's timed work: `work(now, checkpoint)` every tick, with `checkpoint` true on
 * every fifth. The timer never keeps the process alive.
 */
export class Maintenance {
  private ticks = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(work: (now: number, checkpoint: boolean) => void) {
    this.timer = setInterval(() => work(Date.now(), ++this.ticks % CHECKPOINT_EVERY_TICKS === 0), TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Runs `job` every `ms` (and at once with `now`); unless `keepAlive`, the timer never keeps the process alive. */
export function every(ms: number, job: () => void, { now = false, keepAlive = false } = {}): { stop(): void } {
  if (now) job();
  const timer = setInterval(job, ms);
  if (!keepAlive) timer.unref();
  return { stop: () => clearInterval(timer) };
}
