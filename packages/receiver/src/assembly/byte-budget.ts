/**
 * Memory for chunks that are not on disk yet (--max-buffer), in the style of a counting
 * semaphore: whoever holds bytes took them, and gives them back when they leave memory
 * (written, found to be zeros, dropped). A take that would pass the limit is refused: the
 * caller drops the chunk and counts it, and a later pass brings it again.
 *
 * A share (`share(limit)`) is a part of the budget with a lower ceiling of its own: what it
 * takes is taken from the whole budget too, so parity can never crowd out data.
 */
export class ByteBudget {
  private used = 0;

  constructor(readonly limit: number, private readonly whole?: ByteBudget) {}

  /** Takes `bytes` if they fit, here and in the whole budget; false (nothing taken) if not. */
  take(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    if (this.whole && !this.whole.take(bytes)) return false;
    this.used += bytes;
    return true;
  }

  /** Gives back bytes taken earlier. */
  give(bytes: number): void {
    this.used -= bytes;
    this.whole?.give(bytes);
  }

  /** Bytes taken and not given back. */
  get held(): number {
    return this.used;
  }

  /** More than half is taken: time to push what is buffered to disk rather than wait for the next tick. */
  get pressed(): boolean {
    return this.used > this.limit / 2;
  }

  /** A part of this budget that may hold at most `limit` bytes of it. */
  share(limit: number): ByteBudget {
    return new ByteBudget(limit, this);
  }
}
