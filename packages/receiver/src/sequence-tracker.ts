/**
 * Frames lost on the link, from the sender's global sequence numbers: per session, the span
 * of numbers seen minus the frames that arrived. Reordering is harmless; duplicates can only
 * make the estimate low, never high.
 */
export class SequenceTracker {
  private readonly sessions = new Map<number, { first: number; last: number; seen: number }>();

  observe(sessionId: number, sequence: number): void {
    const s = this.sessions.get(sessionId);
    if (!s) {
      // Bound the table: a flood of forged session ids must not grow it without limit.
      if (this.sessions.size >= 64) this.sessions.delete(this.sessions.keys().next().value!);
      this.sessions.set(sessionId, { first: sequence, last: sequence, seen: 1 });
      return;
    }
    if (sequence < s.first) s.first = sequence;
    if (sequence > s.last) s.last = sequence;
    s.seen++;
  }

  get lost(): number {
    let lost = 0;
    for (const s of this.sessions.values()) lost += Math.max(0, s.last - s.first + 1 - s.seen);
    return lost;
  }
}
