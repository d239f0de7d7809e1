/** The last latencies seen (ms, from the sender's clock to ours), for p50/p99/max in the status. */
export class LatencyWindow {
  private readonly values: Float64Array;
  private count = 0;
  max = 0;

  constructor(size = 4096) {
    this.values = new Float64Array(size);
  }

  add(ms: number): void {
    this.values[this.count++ % this.values.length] = ms;
    if (ms > this.max) this.max = ms;
  }

  /** p50, p99 and max of the window, in ms with one decimal; zeros before the first record. */
  summary(): { p50: number; p99: number; max: number } {
    const n = Math.min(this.count, this.values.length);
    if (n === 0) return { p50: 0, p99: 0, max: 0 };
    const sorted = this.values.slice(0, n).sort();
    const at = (q: number) => Math.round(sorted[Math.min(n - 1, Math.floor(q * n))]! * 10) / 10;
    return { p50: at(0.5), p99: at(0.99), max: Math.round(this.max * 10) / 10 };
  }
}
