import type { Frame } from '@diodesync/protocol';

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
    if (this.bytes + frame.payload.length > this.maxBytes) return false;
    let entry = this.waiting.get(wireId);
    if (!entry) this.waiting.set(wireId, (entry = { frames: [], since: now }));
    entry.frames.push(frame);
    this.bytes += frame.payload.length;
    return true;
  }

  /** The frames held for `wireId`, in arrival order; they leave the buffer. */
  take(wireId: string): Frame[] {
    const entry = this.waiting.get(wireId);
    if (!entry) return [];
    this.waiting.delete(wireId);
    for (const f of entry.frames) this.bytes -= f.payload.length;
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
