/**
 * Token bucket in bytes. `take(n)` returns undefined when the bytes may go now,
 * or a promise that resolves when they may. Debt is allowed so that frames
 * larger than the burst still pass, and the average stays exact.
 */
export class TokenBucket {
  private readonly bytesPerMs: number;
  private readonly burstBytes: number;
  private tokens: number;
  private last = performance.now();

  constructor(bitsPerSecond: number, burstMs = 5) {
    this.bytesPerMs = bitsPerSecond / 8 / 1000;
    // 5 ms of traffic, so timer granularity does not cap the rate; at low rates at least two
    // 1500-byte frames. Not more: after idle time (hashing a file) a bigger burst would overflow
    // the small queues of a real bottleneck. A frame above the burst still goes, on credit.
    this.burstBytes = Math.max(this.bytesPerMs * burstMs, 3_000);
    this.tokens = 0;
  }

  take(bytes: number, held = 0): Promise<void> | undefined {
    this.refill(0, held);
    this.tokens -= bytes;
    if (this.tokens >= 0) return undefined;
    const waitMs = -this.tokens / this.bytesPerMs;
    return new Promise((resolve) => setTimeout(resolve, waitMs));
  }

  /**
   * Per batch instead of per frame: hands out every token there is now (0 while in debt), which
   * the caller spends frame by frame without asking again. What it did not spend of the last
   * grant comes back first (`unspent`), so a grant never exceeds the burst either; nor, with
   * `held` (bytes paid for and still in the sink's batch), does a grant and the batch together.
   */
  takeAll(unspent: number, held = 0): number {
    this.refill(unspent, held);
    const granted = Math.max(0, this.tokens);
    this.tokens -= granted;
    return granted;
  }

  /**
   * A batch leaves now, with `outstanding` bytes paid for and not sent before it (the batch and
   * the caller's unspent grant). Frames are paid for as they are written into a batch, which
   * leaves when the event loop turns: while the main thread hashed or coded for a few ms the
   * bucket refilled as if they had gone, and a full burst followed the held batch (1 ms windows
   * carried 1.5 times rate + burst). Tokens are capped here so that what is paid for and not yet
   * sent, and what may still be granted, never exceed the burst together.
   */
  sending(outstanding: number): void {
    this.refill(0, outstanding);
  }

  /** Adds the tokens of the time since the last refill, up to the burst less `held` (paid for, not sent). */
  private refill(returned: number, held = 0): void {
    const now = performance.now();
    this.tokens = Math.min(this.burstBytes - held, this.tokens + returned + (now - this.last) * this.bytesPerMs);
    this.last = now;
  }

  /** Takes bytes that went without waiting (a stream frame ahead of the queue): later takes wait for them. */
  charge(bytes: number): void {
    this.refill(0);
    this.tokens -= bytes;
  }
}
