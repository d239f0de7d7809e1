import {
  StreamKind, encodeStreamRecord, fecEnabled, fecParityCount, streamBlockParity, streamRecordOverhead, type FecLayout,
} from '@diodesync/protocol';
import type { StreamOutbox } from './stream-outbox.js';

/** What a channel counts on the sender; the `done` line and the stream-stats lines show it. */
export interface ChannelCounts {
  messagesIn: number;
  bytesIn: number;
  /** Datagrams refused: the queue was full (--forward-rate too low for the input). */
  dropped: number;
  /** Datagrams longer than one record can carry, sent as several (joined again on the high side). */
  split: number;
  /** Records sent again (--forward-copies) because the channel was quiet. */
  copies: number;
  sessions: number;
  blocks: number;
  parityFrames: number;
}

/** Copies of a record of a quiet channel (--forward-copies) and how they are spread. */
export interface CopyPolicy {
  /** Times each record goes in all (1: no copies). */
  copies: number;
  /** Between two copies of a record: a burst of loss seldom takes them all. */
  spacingMs: number;
  /** A channel is quiet (its records are copied) while it made fewer records than this in the last second. */
  quietPerSecond: number;
}

export const NO_COPIES: CopyPolicy = { copies: 1, spacingMs: 0, quietPerSecond: 0 };

/**
 * One channel's records in order. Input: datagrams, or a TCP session's open, data and close.
 * Output: records with the channel's sequence numbers to the outbox, and after each block (closed
 * when it holds K records or `flushMs` after its first) that block's parity records. A datagram
 * longer than one record goes as consecutive pieces (StreamKind.DatagramPart). While the channel
 * is quiet, each datagram record is also queued again (copies) `spacingMs` apart.
 */
export class ChannelEncoder {
  readonly counts: ChannelCounts = { messagesIn: 0, bytesIn: 0, dropped: 0, split: 0, copies: 0, sessions: 0, blocks: 0, parityFrames: 0 };
  /** Largest data one record carries: its parity record (record padded to 8 bytes, plus a record header) must fit a frame too. */
  readonly maxData: number;
  private sequence = 0;
  private block: Buffer[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Parity is computed in the thread pool; blocks are coded one after the other so their parity leaves in order. */
  private parity: Promise<void> = Promise.resolve();
  /** Records made in the current second and in the one before it (is the channel quiet?). */
  private second = 0;
  private thisSecond = 0;
  private lastSecond = 0;
  /** Copies waiting for their time, and the record each is of. */
  private readonly copyTimers = new Map<NodeJS.Timeout, Buffer>();

  constructor(
    readonly name: string,
    private readonly fec: FecLayout,
    private readonly flushMs: number,
    private readonly outbox: StreamOutbox,
    maxPayload: number,
    private readonly copyPolicy: CopyPolicy = NO_COPIES,
  ) {
    const overhead = streamRecordOverhead(name);
    this.maxData = Math.floor((maxPayload - overhead) / 8) * 8 - overhead;
  }

  /** A datagram of a UDP channel (any size UDP carries); false (and counted) if refused. */
  datagram(data: Buffer): boolean {
    if (this.outbox.full) {
      this.counts.dropped++;
      return false;
    }
    this.counts.messagesIn++;
    this.counts.bytesIn += data.length;
    if (data.length <= this.maxData) {
      this.add(StreamKind.Datagram, 0, data);
      return true;
    }
    this.counts.split++;
    const pieces = Math.ceil(data.length / this.maxData);
    for (let i = 0; i < pieces; i++) {
      this.add(i === pieces - 1 ? StreamKind.Datagram : StreamKind.DatagramPart, i, data.subarray(i * this.maxData, (i + 1) * this.maxData));
    }
    return true;
  }

  /** A TCP session's records, never refused (the reader pauses while the outbox is full). */
  open(session: number): void {
    this.counts.sessions++;
    this.add(StreamKind.Open, session, EMPTY);
  }

  data(session: number, bytes: Buffer): void {
    this.counts.bytesIn += bytes.length;
    for (let at = 0; at < bytes.length; at += this.maxData) {
      this.counts.messagesIn++;
      this.add(StreamKind.Data, session, bytes.subarray(at, at + this.maxData));
    }
  }

  close(session: number): void {
    this.add(StreamKind.Close, session, EMPTY);
  }

  /** Closes the open block now (on stop): its parity goes out; resolves when it has been queued. */
  async flush(): Promise<void> {
    // Copies still to come go now: the run ends.
    for (const [timer, record] of this.copyTimers) {
      clearTimeout(timer);
      this.counts.copies++;
      this.outbox.pushCopy(record);
    }
    this.copyTimers.clear();
    this.closeBlock();
    await this.parity;
  }

  private add(kind: StreamKind, session: number, data: Buffer): void {
    const now = Date.now();
    // Datagrams only: a TCP session's bytes come in bursts that FEC blocks cover well, and copies would double them.
    const datagram = kind === StreamKind.Datagram || kind === StreamKind.DatagramPart;
    const copies = datagram && this.quiet(now) ? this.copyPolicy.copies - 1 : 0;
    const copySpan = copies * this.copyPolicy.spacingMs;
    const record = encodeStreamRecord({
      kind, channel: this.name, sequence: this.sequence++, session, fecIndex: this.block.length, fecCount: 0, parityCount: 0, sentAt: now, copySpan, data,
    });
    this.outbox.push(record);
    for (let j = 1; j <= copies; j++) {
      const timer = setTimeout(() => {
        this.copyTimers.delete(timer);
        // A full queue keeps its room for new records: a copy is only insurance.
        if (this.outbox.full) return;
        this.counts.copies++;
        this.outbox.pushCopy(record);
      }, j * this.copyPolicy.spacingMs);
      this.copyTimers.set(timer, record);
    }
    if (!fecEnabled(this.fec)) return;
    this.block.push(record);
    if (this.block.length >= this.fec.k) this.closeBlock();
    else if (this.block.length === 1) this.timer = setTimeout(() => this.closeBlock(), this.flushMs);
  }

  /** Counts a record made at `now`; true while the channel made fewer than quietPerSecond records in this second and the last. */
  private quiet(now: number): boolean {
    if (this.copyPolicy.copies <= 1) return false;
    const second = Math.floor(now / 1000);
    if (second !== this.second) {
      this.lastSecond = second === this.second + 1 ? this.thisSecond : 0;
      this.thisSecond = 0;
      this.second = second;
    }
    this.thisSecond++;
    return this.thisSecond <= this.copyPolicy.quietPerSecond && this.lastSecond < this.copyPolicy.quietPerSecond;
  }

  private closeBlock(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const records = this.block;
    if (records.length === 0) return;
    this.block = [];
    const first = this.sequence - records.length;
    const count = fecParityCount(this.fec, records.length);
    this.counts.blocks++;
    this.parity = this.parity.then(async () => {
      const shards = await streamBlockParity(records, count);
      shards.forEach((shard, j) => {
        this.outbox.pushParity(encodeStreamRecord({
          kind: StreamKind.Parity, channel: this.name, sequence: first, session: 0, fecIndex: records.length + j,
          fecCount: records.length, parityCount: count, sentAt: Date.now(), data: shard,
        }));
      });
      this.counts.parityFrames += count;
    });
  }
}

const EMPTY = Buffer.alloc(0);
