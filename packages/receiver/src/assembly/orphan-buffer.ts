import type { Frame } from '@diodesync/protocol';

/** Rough bytes of bookkeeping per held frame (map entry, arrays, header object). */
const FRAME_OVERHEAD = 256;

/**
 * Data frames that arrived before their object header (reordered, or the header was lost
 * and a copy is on its way). They wait here, briefly and within a byte budget, and are
 * replayed once the header is known; what expires is counted as orphan data.
 */
export class OrphanBuffer {
  private readonly waiting = new Map<string, { frames: Frame[]; since: number }>();
  private bytes = 0;

  constructor(private readonly maxBytes: number, private readonly maxAgeMs: number) {}

  /** Keeps a frame for `wireId`; false if the budget is spent. */
  hold(wireId: string, frame: Frame, now = Date.now()): boolean {
    // Each frame costs its bookkeeping too: a flood of empty frames for distinct ids must hit the budget.
    const cost = frame.payload.length + FRAME_OVERHEAD;
    if (this.bytes + cost > this.maxBytes) return false;
    let entry = this.waiting.get(wireId);
    if (!entry) this.waiting.set(wireId, (entry = { frames: [], since: now }));
    // Its own copy of the payload: the frame may be a view into a receive slot that is about to be reused.
    entry.frames.push({ header: frame.header, payload: Buffer.from(frame.payload) });
    this.bytes += cost;
    return true;
  }

  /** The frames held for `wireId`, in arrival order; they leave the buffer. */
  take(wireId: string): Frame[] {
    const entry = this.waiting.get(wireId);
    if (!entry) return [];
    this.waiting.delete(wireId);
    for (const f of entry.frames) this.bytes -= f.payload.length + FRAME_OVERHEAD;
    return entry.frames;
  }

  /** Drops what waited too long; returns how many frames that was. */
  expire(now = Date.now()): number {
    let dropped = 0;
    for (const [wireId, entry] of this.waiting) {
      if (now - entry.since > this.maxAgeMs) dropped += this.take(wireId).length;
    }
    return dropped;
  }
}
