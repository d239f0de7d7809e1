import { FrameType, HEADER_SIZE } from '@diodesync/protocol';
import type { FrameEmitter } from '../framing/frame-emitter.js';
import { TokenBucket } from '../transport/rate-limiter.js';

/**
 * The one queue of every channel's records on their way to the link. Input: encoded stream
 * records, in each channel's order. Output: Stream frames through FrameEmitter.emitNow, ahead of
 * file frames, paced by their own token bucket (--forward-rate), so streams never take more than
 * their share and files never delay them by more than what the sink holds.
 */
export class StreamOutbox {
  private queue: Buffer[] = [];
  private head = 0;
  private pumping = false;
  private drainWaiters: (() => void)[] = [];
  queuedBytes = 0;

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

  private readonly limiter: TokenBucket;

  get full(): boolean {
    return this.queuedBytes >= this.highWater;
  }

  push(record: Buffer): void {
    this.queue.push(record);
    this.queuedBytes += record.length;
    if (!this.pumping) void this.pump();
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

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.head < this.queue.length) {
        const record = this.queue[this.head]!;
        this.queue[this.head++] = EMPTY;
        const wait = this.limiter.take(HEADER_SIZE + record.length);
        if (wait) await wait;
        this.queuedBytes -= record.length;
        const last = this.head === this.queue.length;
        const sent = this.emitter.emitNow({ type: FrameType.Stream }, record, last);
        if (sent) await sent;
        if (this.head > 1024 && this.head * 2 > this.queue.length) {
          this.queue = this.queue.slice(this.head);
          this.head = 0;
        }
        if (this.queuedBytes < this.highWater / 2) this.wakeWaiters();
      }
    } catch (err) {
      this.queuedBytes = 0;
      this.failed(err as Error);
    } finally {
      this.queue = [];
      this.head = 0;
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

const EMPTY = Buffer.alloc(0);
