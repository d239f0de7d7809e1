import {
  StreamKind, encodeStreamRecord, fecEnabled, fecParityCount, streamBlockParity, streamRecordOverhead, type FecLayout,
} from '@diodesync/protocol';
import type { StreamOutbox } from './stream-outbox.js';

/** What a channel counts on the sender; the `done` line and the stream-stats lines show it. */
export interface ChannelCounts {
  messagesIn: number;
  bytesIn: number;
  /** Datagrams refused: the queue was full (--forward-rate too low for the input), or too large for one frame. */
  dropped: number;
  tooLarge: number;
  sessions: number;
  blocks: number;
  parityFrames: number;
}

/**
 * One channel's records in order. Input: datagrams, or a TCP session's open, data and close.
 * Output: records with the channel's sequence numbers to the outbox, and after each block (closed
 * when it holds K records or `flushMs` after its first) that block's parity records.
 */
export class ChannelEncoder {
  readonly counts: ChannelCounts = { messagesIn: 0, bytesIn: 0, dropped: 0, tooLarge: 0, sessions: 0, blocks: 0, parityFrames: 0 };
  /** Largest data one record carries: its parity record (record padded to 8 bytes, plus a record header) must fit a frame too. */
  readonly maxData: number;
  private sequence = 0;
  private block: Buffer[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Parity is computed in the thread pool; blocks are coded one after the other so their parity leaves in order. */
  private parity: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    private readonly fec: FecLayout,
    private readonly flushMs: number,
    private readonly outbox: StreamOutbox,
    maxPayload: number,
  ) {
    const overhead = streamRecordOverhead(name);
    this.maxData = Math.floor((maxPayload - overhead) / 8) * 8 - overhead;
  }

  /** A datagram of a UDP channel; false (and counted) if refused. */
  datagram(data: Buffer): boolean {
    if (data.length > this.maxData) {
      this.counts.tooLarge++;
      return false;
    }
    if (this.outbox.full) {
      this.counts.dropped++;
      return false;
    }
    this.counts.messagesIn++;
    this.counts.bytesIn += data.length;
    this.add(StreamKind.Datagram, 0, data);
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
    this.closeBlock();
    await this.parity;
  }

  private add(kind: StreamKind, session: number, data: Buffer): void {
    const record = encodeStreamRecord({
      kind, channel: this.name, sequence: this.sequence++, session, fecIndex: this.block.length, fecCount: 0, parityCount: 0, sentAt: Date.now(), data,
    });
    this.outbox.push(record);
    if (!fecEnabled(this.fec)) return;
    this.block.push(record);
    if (this.block.length >= this.fec.k) this.closeBlock();
    else if (this.block.length === 1) this.timer = setTimeout(() => this.closeBlock(), this.flushMs);
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
