import { createHistogram } from 'node:perf_hooks';

/** The last latencies (ms) seen, for p50/p99/max in a status or a log line (stream channels, both sides). */
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

/** Every latency (ms) since the start, in a histogram of microseconds: p50/p99/max over a whole run (a bench's breakdown). */
export class LatencyHistogram {
  private readonly histogram = createHistogram();

  add(ms: number): void {
    this.histogram.record(Math.max(1, Math.round(ms * 1000)));
  }

  /** p50, p99 and max in ms with one decimal; zeros before the first. */
  summary(): { p50: number; p99: number; max: number } {
    const h = this.histogram;
    if (h.count === 0) return { p50: 0, p99: 0, max: 0 };
    const ms = (us: number) => Math.round(us / 100) / 10;
    return { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) };
  }
}

