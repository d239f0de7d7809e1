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

  take(bytes: number): Promise<void> | undefined {
    const now = performance.now();
    this.tokens = Math.min(this.burstBytes, this.tokens + (now - this.last) * this.bytesPerMs);
    this.last = now;
    this.tokens -= bytes;
    if (this.tokens >= 0) return undefined;
    const waitMs = -this.tokens / this.bytesPerMs;
    return new Promise((resolve) => setTimeout(resolve, waitMs));
  }

  /** Takes bytes that went without waiting (a stream frame ahead of the queue): later takes wait for them. */
  charge(bytes: number): void {
    const now = performance.now();
    this.tokens = Math.min(this.burstBytes, this.tokens + (now - this.last) * this.bytesPerMs);
    this.last = now;
    this.tokens -= bytes;
  }
}
