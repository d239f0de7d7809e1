/** A jump this far is a forged or garbled number (or a very long outage): a new span, as in sequence-tracker.ts. */
const MAX_JUMP = 2 ** 24;

/**
 * Frames one link lost, estimated from the sequence numbers it carried (the receiver's total is
 * sequence-tracker.ts, over all links). A link that carries every frame (copies: two diodes side
 * by side) sees numbers one apart; a link of a `--stripe` over N links sees every Nth number, as
 * the sender stripes by sequence number. The stride is learnt as the greatest common divisor of
 * the distances between the link's data frames, so the estimate is right in both cases without
 * being told. Heartbeats go on every link: one counts only where it falls on the link's stride.
 * Only the newest sender session is followed (the intake has already dropped older ones).
 * Duplicates on the link itself can only make the estimate low.
 */
export class LinkSequence {
  private sessionId: number | undefined;
  /** The first data frame's number: distances are taken from it. */
  private origin = 0;
  private stride = 0;
  private low = 0;
  private high = 0;
  private seen = 0;
  private closedLoss = 0;

  observe(sessionId: number, sequence: number, heartbeat: boolean): void {
    const fresh = sessionId !== this.sessionId || Math.abs(sequence - this.origin) > MAX_JUMP;
    if (fresh) {
      // Until a data frame sets the origin, a heartbeat says nothing about this link's stride.
      if (heartbeat) return;
      this.closedLoss += this.spanLoss();
      Object.assign(this, { sessionId, origin: sequence, stride: 0, low: sequence, high: sequence, seen: 1 });
      return;
    }
    const distance = Math.abs(sequence - this.origin);
    if (heartbeat) {
      if (this.stride === 0 || distance % this.stride !== 0) return;
    } else {
      this.stride = gcd(this.stride, distance);
    }
    if (sequence < this.low) this.low = sequence;
    if (sequence > this.high) this.high = sequence;
    this.seen++;
  }

  /** Numbers between one frame apart (copies) or N apart (a stripe over N links). */
  get strideLearnt(): number {
    return this.stride;
  }

  get lost(): number {
    return this.closedLoss + this.spanLoss();
  }

  private spanLoss(): number {
    if (this.sessionId === undefined || this.stride === 0) return 0;
    return Math.max(0, (this.high - this.low) / this.stride + 1 - this.seen);
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
