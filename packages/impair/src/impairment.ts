/**
 * A seeded, reproducible model of a bad link, one datagram at a time: random loss, Gilbert-Elliott
 * bursts, deterministic bursts, bit flips, truncation, duplication, reordering. Pure: no sockets,
 * no clock, so the same seed and the same input give the same output. `diode-impair` puts it on a
 * UDP relay.
 */
export interface ImpairmentConfig {
  seed: number;
  /** Probability that a datagram is lost, independently of the others. */
  loss: number;
  /**
   * Gilbert-Elliott: a good and a bad state; each datagram first moves good->bad with probability
   * p or bad->good with probability r, then is lost with the state's loss probability. Mean burst
   * length 1/r datagrams, share of time in the bad state p/(p+r).
   */
  gilbertElliott?: { p: number; r: number; lossBad: number; lossGood: number };
  /** Deterministic bursts: the last `length` datagrams of every `every` are lost, the pattern shifted `phase` datagrams later (two relays, different shares). */
  burst?: { length: number; every: number; phase?: number };
  /** Probability that one random bit of a datagram is flipped. */
  flip: number;
  /** Probability that a datagram is cut to a random shorter length. */
  truncate: number;
  /** Probability that a datagram is sent twice. */
  duplicate: number;
  /** Probability that a datagram is held back and sent after the next one. */
  reorder: number;
}

export interface ImpairmentCounters {
  received: number;
  forwarded: number;
  lostRandom: number;
  lostBurst: number;
  lostGilbertElliott: number;
  flipped: number;
  truncated: number;
  duplicated: number;
  reordered: number;
}

export const NO_IMPAIRMENT: ImpairmentConfig = { seed: 1, loss: 0, flip: 0, truncate: 0, duplicate: 0, reorder: 0 };

/** mulberry32: small, fast, good enough for a test channel, and reproducible from a 32-bit seed. */
export function prng(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export class Impairment {
  readonly counters: ImpairmentCounters = {
    received: 0, forwarded: 0, lostRandom: 0, lostBurst: 0, lostGilbertElliott: 0,
    flipped: 0, truncated: 0, duplicated: 0, reordered: 0,
  };
  private readonly random: () => number;
  private bad = false;
  private held: Buffer | undefined;

  constructor(private readonly config: ImpairmentConfig) {
    this.random = prng(config.seed);
  }

  /** What leaves the link, in order, for one datagram that enters it (it may be changed in place). */
  process(datagram: Buffer): Buffer[] {
    const c = this.counters;
    const index = c.received++;
    const { burst, gilbertElliott: ge } = this.config;
    if (burst && (index + burst.every - ((burst.phase ?? 0) % burst.every)) % burst.every >= burst.every - burst.length) {
      c.lostBurst++;
      return [];
    }
    if (ge) {
      this.bad = this.bad ? this.random() >= ge.r : this.random() < ge.p;
      if (this.random() < (this.bad ? ge.lossBad : ge.lossGood)) {
        c.lostGilbertElliott++;
        return [];
      }
    }
    if (this.random() < this.config.loss) {
      c.lostRandom++;
      return [];
    }
    let out = datagram;
    if (out.length > 0 && this.random() < this.config.flip) {
      const bit = Math.floor(this.random() * out.length * 8);
      out[bit >> 3]! ^= 1 << (bit & 7);
      c.flipped++;
    }
    if (out.length > 1 && this.random() < this.config.truncate) {
      out = out.subarray(0, Math.floor(this.random() * out.length));
      c.truncated++;
    }
    const copies = this.random() < this.config.duplicate ? [out, Buffer.from(out)] : [out];
    if (copies.length === 2) c.duplicated++;
    if (this.held) {
      copies.push(this.held);
      this.held = undefined;
    } else if (this.random() < this.config.reorder) {
      this.held = copies.pop();
      c.reordered++;
    }
    c.forwarded += copies.length;
    return copies;
  }

  /** A datagram still held back for reordering, if any (at the end of a run). */
  flush(): Buffer[] {
    const held = this.held;
    this.held = undefined;
    if (!held) return [];
    this.counters.forwarded++;
    return [held];
  }
}
