import { SeenWindow } from './seen-window.js';

/** A jump this far from a session's span is a forged or garbled number (or an outage of tens of GB): a new span. */
const MAX_JUMP = 2 ** 24;
const MAX_SESSIONS = 64;

interface Span {
  first: number;
  last: number;
  /** Distinct numbers seen: a copy (another link's, or a duplicate) is not counted twice. */
  seen: number;
  /** Made at the span's second frame: a flood of one-frame sessions (forged) costs no 128 KiB each. */
  window?: SeenWindow;
}

/**
 * Frames lost on the link, from the sender's global sequence numbers: per session, the span
 * of numbers seen minus the distinct frames that arrived. Reordering is harmless; a frame that
 * arrives again (on a second link, or duplicated) is recognised (seen-window.ts) and neither
 * counted nor, by the caller, used twice.
 */
export class SequenceTracker {
  private readonly sessions = new Map<number, Span>();
  /** Losses of spans closed by a jump or pushed out of the table. */
  private closedLoss = 0;

  /** Records a frame; false if the same number of the same session arrived already (a copy). */
  observe(sessionId: number, sequence: number): boolean {
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
      return true;
    }
    if (!s.window) {
      s.window = new SeenWindow();
      s.window.mark(s.first);
    }
    const mark = s.window.mark(sequence);
    if (mark === 'seen') return false;
    if (sequence < s.first) s.first = sequence;
    if (sequence > s.last) s.last = sequence;
    // Too far behind to tell: let it through, but do not count it as the frame that was missing.
    if (mark === 'new') s.seen++;
    return true;
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
