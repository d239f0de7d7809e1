import { LatencyHistogram } from '@diodesync/cli-kit';
import { FrameType, HEADER_SIZE, STREAM_SENT_AT_OFFSET } from '@diodesync/protocol';
import type { FrameEmitter } from '../framing/frame-emitter.js';
import { TokenBucket } from '../transport/rate-limiter.js';

/** Records sent between two parity records at most, while both lanes hold some: a burst of loss takes little of any one block's parity. */
const PARITY_SPREAD = 3;

/** A first-in first-out lane that does not copy on shift. */
class Lane<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++]!;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

/**
 * The one queue of every channel's records on their way to the link. Input: encoded stream
 * records, in each channel's order, and parity records once a block is coded. Output: Stream
 * frames through FrameEmitter.emitNow, ahead of file frames, paced by their own token bucket
 * (--forward-rate), so streams never take more than their share and files never delay them by
 * more than what the sink holds.
 *
 * Records and parity wait in two lanes: parity records go one between every PARITY_SPREAD records
 * rather than all together, so one burst of loss does not take a block's whole parity; and a
 * parity record never leaves before the last record of its block (the receiver reads a later
 * block's parity as "this block is over").
 */
export class StreamOutbox {
  private readonly records = new Lane<Buffer>();
  /** Copies of records of quiet channels (--forward-copies), due now: few, so they go before new records. */
  private readonly copies = new Lane<Buffer>();
  private readonly parity = new Lane<{ record: Buffer; after: number }>();
  /** Records pushed, and records sent, since the start. */
  private pushed = 0;
  private sent = 0;
  private sinceParity = 0;
  private pumping = false;
  private drainWaiters: (() => void)[] = [];
  private readonly limiter: TokenBucket;
  queuedBytes = 0;
  /** How long records waited here since the start (ms, from their making to their frame's hand-over to the sink). */
  readonly waited = new LatencyHistogram();

  constructor(
    private readonly emitter: FrameEmitter,
    forwardRate: number,
    /** Bytes queued beyond which datagrams are refused and TCP reads pause. */
    readonly highWater: number,
    /** The link failed under a stream frame (TransportError): the run stops, as for files. */
    private readonly failed: (err: Error) => void,
  ) {
    this.limiter = new TokenBucket(forwardRate);
  }

  get full(): boolean {
    return this.queuedBytes >= this.highWater;
  }

  push(record: Buffer): void {
    this.records.push(record);
    this.pushed++;
    this.queued(record);
  }

  /** A copy of a record pushed before (--forward-copies): it goes ahead of new records. */
  pushCopy(record: Buffer): void {
    this.copies.push(record);
    this.queued(record);
  }

  /** A parity record: after every record pushed so far (its block's among them). */
  pushParity(record: Buffer): void {
    this.parity.push({ record, after: this.pushed });
    this.queued(record);
  }

  /** Calls `resume` once the queue is below half its high-water mark (a paused TCP read goes on). */
  whenDrained(resume: () => void): void {
    if (this.queuedBytes < this.highWater / 2) resume();
    else this.drainWaiters.push(resume);
  }

  /** Resolves once every record pushed so far has been handed to the sink. */
  async drained(): Promise<void> {
    while (this.queuedBytes > 0 || this.pumping) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  private queued(record: Buffer): void {
    this.queuedBytes += record.length;
    if (!this.pumping) void this.pump();
  }

  /** The next record to send: parity when it may go and is due (or nothing else waits), else the next record. */
  private next(): Buffer | undefined {
    const parity = this.parity.peek();
    const parityMay = parity !== undefined && this.sent >= parity.after;
    if (parityMay && (this.sinceParity >= PARITY_SPREAD || this.records.length === 0)) {
      this.sinceParity = 0;
      return this.parity.shift()!.record;
    }
    const copy = this.copies.shift();
    if (copy) return copy;
    const record = this.records.shift();
    if (record) {
      this.sent++;
      this.sinceParity++;
      this.waited.add(Date.now() - record.readDoubleBE(STREAM_SENT_AT_OFFSET));
    }
    return record;
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      for (let record = this.next(); record; record = this.next()) {
        const wait = this.limiter.take(HEADER_SIZE + record.length);
        if (wait) await wait;
        this.queuedBytes -= record.length;
        const last = this.records.length === 0 && this.parity.length === 0 && this.copies.length === 0;
        const sent = this.emitter.emitNow({ type: FrameType.Stream }, record, last);
        if (sent) await sent;
        if (this.queuedBytes < this.highWater / 2) this.wakeWaiters();
      }
    } catch (err) {
      this.queuedBytes = 0;
      this.failed(err as Error);
    } finally {
      this.pumping = false;
      this.wakeWaiters();
    }
  }

  private wakeWaiters(): void {
    if (this.drainWaiters.length === 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }
}
