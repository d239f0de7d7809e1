/** Sequence numbers remembered behind the newest: 2^20 frames, 1.5 GB of 1500-byte frames, ~12 s at 1 Gb/s of skew between two links. */
export const SEEN_WINDOW = 2 ** 20;

/**
 * Which of the last SEEN_WINDOW sequence numbers of one sender session have arrived, as a ring of
 * bits (128 KiB): a frame that came already, by another link or twice by one, is seen again.
 * A number further behind than the window cannot be told apart: 'unknown' (the caller lets it
 * through; the assembly drops a chunk it already has).
 */
export class SeenWindow {
  private readonly bits = new Uint32Array(SEEN_WINDOW / 32);
  /** The highest number marked, or -1 before the first. */
  private top = -1;

  mark(sequence: number): 'new' | 'seen' | 'unknown' {
    if (sequence > this.top) {
      // The slots between the old top and this number now stand for numbers not yet seen.
      if (this.top < 0 || sequence - this.top >= SEEN_WINDOW) this.bits.fill(0);
      else for (let s = this.top + 1; s < sequence; s++) this.clear(s);
      this.top = sequence;
      this.set(sequence);
      return 'new';
    }
    if (sequence <= this.top - SEEN_WINDOW) return 'unknown';
    if (this.has(sequence)) return 'seen';
    this.set(sequence);
    return 'new';
  }

  private has(s: number): boolean {
    const i = s % SEEN_WINDOW;
    return (this.bits[i >>> 5]! & (1 << (i & 31))) !== 0;
  }

  private set(s: number): void {
    const i = s % SEEN_WINDOW;
    this.bits[i >>> 5]! |= 1 << (i & 31);
  }

  private clear(s: number): void {
    const i = s % SEEN_WINDOW;
    this.bits[i >>> 5]! &= ~(1 << (i & 31));
  }
}
