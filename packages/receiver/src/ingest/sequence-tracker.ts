/** A jump this far from a session's span is a forged or garbled number (or an outage of tens of GB): a new span. */
const MAX_JUMP = 2 ** 24;
const MAX_SESSIONS = 64;

interface Span {
  first: number;
  last: number;
  seen: number;
}

/**
 * Frames lost on the link, from the sender's global sequence numbers: per session, the span
 * of numbers seen minus the frames that arrived. Reordering is harmless; duplicates can only
 * make the estimate low, never high.
 */
export class SequenceTracker {
  private readonly sessions = new Map<number, Span>();
  /** Losses of spans closed by a jump or pushed out of the table. */
  private closedLoss = 0;

  observe(sessionId: number, sequence: number): void {
    const s = this.sessions.get(sessionId);
    if (!s || sequence > s.last + MAX_JUMP || sequence < s.first - MAX_JUMP) {
      if (s) this.closedLoss += spanLoss(s);
      else if (this.sessions.size >= MAX_SESSIONS) {
        // Bound the table: a flood of forged session ids must not grow it without limit.
        const [oldest, span] = this.sessions.entries().next().value!;
        this.closedLoss += spanLoss(span);
        this.sessions.delete(oldest);
      }
      this.sessions.set(sessionId, { first: sequence, last: sequence, seen: 1 });
      return;
    }
    if (sequence < s.first) s.first = sequence;
    if (sequence > s.last) s.last = sequence;
    s.seen++;
  }

  /** Drops a session's span without counting its gaps: frames of a replayed older session are no loss of the link's. */
  forget(sessionId: number): void {
    this.sessions.delete(sessionId);
  }

  get lost(): number {
    let lost = this.closedLoss;
    for (const s of this.sessions.values()) lost += spanLoss(s);
    return lost;
  }
}

function spanLoss(s: Span): number {
  return Math.max(0, s.last - s.first + 1 - s.seen);
}
