import { setTimeout as sleep } from 'node:timers/promises';

/** The sender's sleep between cycles: it ends at a given time, at a stop, or (watch mode) when the tree changes. */
export class Alarm {
  /** Ends the current wait early: the tree changed. */
  private wakeUp: (() => void) | undefined;

  constructor(private readonly signal: AbortSignal) {}

  /** The tree changed: ends the current wait, if it waits for changes. */
  wake(): void {
    this.wakeUp?.();
  }

  /** Waits until `at`, a stop, or (if `wakeOnChange`) a wake(). */
  async sleepUntil(at: number, wakeOnChange = false): Promise<void> {
    const ms = at - Date.now();
    if (ms <= 0) return;
    const early = new AbortController();
    const stop = () => early.abort();
    this.signal.addEventListener('abort', stop, { once: true });
    if (wakeOnChange) this.wakeUp = stop;
    await sleep(ms, undefined, { signal: early.signal }).catch(() => undefined);
    this.signal.removeEventListener('abort', stop);
    this.wakeUp = undefined;
  }
}
