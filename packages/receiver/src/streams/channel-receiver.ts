import { StreamKind, type StreamRecord } from '@diodesync/protocol';
import { log } from '../log.js';
import type { ChannelOutlet } from './channel-outlet.js';
import { LatencyHistogram, LatencyWindow } from '@diodesync/cli-kit';
import { StreamBlocks } from './stream-blocks.js';

/** What a channel counts on the high side; the status and the metrics show it. */
export interface ChannelCounts {
  messagesIn: number;
  bytesIn: number;
  messagesOut: number;
  bytesOut: number;
  duplicates: number;
  /** Records rebuilt from parity. */
  repaired: number;
  repairFailed: number;
  /** Gaps given up (each logged once with its sequence range), and the records they held. */
  gaps: number;
  lost: number;
  parityFrames: number;
  badParity: number;
  sessionsOpened: number;
  sessionsClosed: number;
  /** Sessions cut on the high side because records of theirs were lost (never delivered with a hole). */
  sessionsBroken: number;
  /** Session records whose session is not open here (its open was lost, or it was cut): dropped. */
  orphanRecords: number;
  /** Datagrams joined from several records (longer than one record carries). */
  joined: number;
  senderRestarts: number;
}

export interface ChannelTiming {
  /** Silence after which a gap with nothing to fill it is given up (the end of a burst). */
  gapWaitMs: number;
  /** Records held beyond a gap at most; one more gives the gap up at once. */
  window: number;
  /** The same in bytes (large records on a jumbo or loopback link). */
  windowBytes?: number;
}

/** The largest UDP datagram: pieces beyond it are not a datagram any sender made. */
const MAX_DATAGRAM_BYTES = 65_507;
/** Timers on the sender may fire this late (a busy loop) beyond a copy's planned time. */
const COPY_MARGIN_MS = 5;

/** Most gaps are given up when a later block's parity arrives; the wait only matters at the end of a burst. */
export const DEFAULT_TIMING: ChannelTiming = { gapWaitMs: 2_000, window: 8192, windowBytes: 32 * 1024 * 1024 };

/**
 * One channel on the high side. Input: its records (data and parity) of the newest sender
 * session. Output: the records in sequence order, each once, to the outlet; TCP sessions that
 * lost records are cut there and later records of theirs dropped, so no session is delivered
 * with a hole. A missing record waits for FEC or a late copy until the parity of a later block
 * has come (its own block can no longer be completed), nothing has come for `gapWaitMs`, or the
 * window is full.
 */
export class ChannelReceiver {
  readonly counts: ChannelCounts = {
    messagesIn: 0, bytesIn: 0, messagesOut: 0, bytesOut: 0, duplicates: 0, repaired: 0, repairFailed: 0, gaps: 0, lost: 0,
    parityFrames: 0, badParity: 0, sessionsOpened: 0, sessionsClosed: 0, sessionsBroken: 0, orphanRecords: 0, joined: 0, senderRestarts: 0,
  };
  /** From the record's making on the sender to its delivery here (both clocks). */
  readonly latency = new LatencyWindow();
  /** Since the start: from each record's making to its arrival here (before any wait for an earlier one), and to its delivery (the latency breakdown). */
  readonly transit = new LatencyHistogram();
  readonly delivered = new LatencyHistogram();
  private senderSession: number | undefined;
  /** Next sequence number to deliver; undefined until the first record. */
  private next: number | undefined;
  /** Records received beyond `next`, waiting for it. */
  private readonly pending = new Map<number, StreamRecord>();
  private pendingBytes = 0;
  private blocks: StreamBlocks;
  private readonly openSessions = new Set<number>();
  /** Our clock at the last arrival: a gap with nothing after it is given up after gapWaitMs of silence. */
  private lastArrival = 0;
  /** The sender codes this channel (a parity record, or a record past the first of its block, came): a hole may still be filled. */
  private coded = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The pieces so far of a datagram sent as several records (StreamKind.DatagramPart), and their bytes. */
  private pieces: Buffer[] | undefined;
  private pieceBytes = 0;
  /** The newest "sent at" that arrived: copies of a record (--forward-copies) may come until its copy span has passed by this clock. */
  private newestSentAt = 0;
  /** Records of this channel announce copies (--forward-copies): a hole may still be filled by one. */
  private copied = false;

  constructor(
    readonly name: string,
    readonly outlet: ChannelOutlet,
    private readonly timing: ChannelTiming = DEFAULT_TIMING,
  ) {
    this.blocks = this.newBlocks();
  }

  /** A rebuild that ends after a sender restart belongs to the old numbering: it is ignored. */
  private newBlocks(): StreamBlocks {
    const blocks: StreamBlocks = new StreamBlocks(this.name, (records) => blocks === this.blocks && this.rebuilt(records), (err) => {
      this.counts.repairFailed++;
      log('stream-repair-failed', { channel: this.name, error: err.message });
    });
    return blocks;
  }

  /** A record not delivered, given up or held yet (one function for every record, not one made per record). */
  private readonly wanted = (sequence: number): boolean => this.next !== undefined && sequence >= this.next && !this.pending.has(sequence);

  take(senderSession: number, record: StreamRecord, raw: Buffer): void {
    if (this.stopped) return;
    if (senderSession !== this.senderSession) this.restart(senderSession);
    this.lastArrival = performance.now();
    if (record.kind === StreamKind.Parity || record.fecIndex > 0) this.coded = true;
    if (record.sentAt > this.newestSentAt) this.newestSentAt = record.sentAt;
    if (record.copySpan) this.copied = true;
    const wanted = this.wanted;
    if (record.kind === StreamKind.Parity) {
      this.counts.parityFrames++;
      this.next ??= record.sequence;
      // Parity only ever follows its block's records: one far ahead of the window is forged, and must not grow the table.
      if (record.sequence >= this.next + this.timing.window || !this.blocks.parity(record, wanted)) this.counts.badParity++;
    } else {
      this.next ??= record.sequence - record.fecIndex;
      if (!wanted(record.sequence)) {
        this.counts.duplicates++;
        return;
      }
      this.counts.messagesIn++;
      this.counts.bytesIn += record.data.length;
      this.transit.add(Math.max(0, Date.now() - record.sentAt));
      this.hold(record);
      this.blocks.data(record, raw, wanted);
    }
    this.progress();
  }

  /** Cuts every open session and forgets the timer (the receiver stops). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.outlet.stop();
  }

  private rebuilt(records: StreamRecord[]): void {
    if (this.stopped) return;
    for (const r of records) {
      if (this.next === undefined || r.sequence < this.next || this.pending.has(r.sequence)) continue;
      this.counts.repaired++;
      this.counts.messagesIn++;
      this.counts.bytesIn += r.data.length;
      this.hold(r);
    }
    this.progress();
  }

  /** Delivers what is in order; gives a gap up when nothing can fill it any more. */
  private progress(quiet = false): void {
    for (;;) {
      let r: StreamRecord | undefined;
      while (this.next !== undefined && (r = this.pending.get(this.next))) {
        this.pending.delete(this.next);
        this.pendingBytes -= r.data.length;
        this.next++;
        this.deliver(r);
      }
      if (this.pending.size === 0) {
        clearTimeout(this.timer);
        this.timer = undefined;
        break;
      }
      const next = this.next!;
      const full = this.pending.size >= this.timing.window || this.pendingBytes >= (this.timing.windowBytes ?? Infinity);
      const why = full ? 'window' : this.hopeless(next, quiet);
      if (!why) {
        this.timer ??= setTimeout(() => {
          // After the timers, the I/O that waited meanwhile (a stalled process): a late parity is taken first.
          setImmediate(() => {
            this.timer = undefined;
            this.progress(performance.now() - this.lastArrival >= this.timing.gapWaitMs);
          });
        }, this.timing.gapWaitMs).unref();
        break;
      }
      quiet = false;
      this.giveUp(next, why);
    }
    if (this.next !== undefined) this.blocks.forgetBefore(this.next);
  }

  /**
   * Nothing can fill the hole at `next` any more: no repair is under way, and the parity of a later
   * block came (the sender sends a block's parity before any later block's), or nothing at all came
   * for `gapWaitMs` (the hole is at the end of a burst), or the sender does not code this channel
   * (--fec 0: nothing could fill it). Only the order of arrivals counts, never how long a gap
   * waited while records still come: a stall of either process gives nothing up early.
   */
  private hopeless(next: number, quiet: boolean): 'silence' | 'uncoded' | 'later-parity' | undefined {
    if (this.blocks.repairing(next)) return undefined;
    if (quiet) return 'silence';
    if (this.copyMayCome(next)) return undefined;
    if (!this.coded) return 'uncoded';
    return this.blocks.parityAfter(next) ? 'later-parity' : undefined;
  }

  /**
   * A copy of the missing record may still come (--forward-copies): the first record held after
   * the hole was made after it, so the hole's copies were all queued by that record's sent-at plus
   * its copy span; until a record made later than that arrives (the sender's queue is in order), wait.
   */
  private copyMayCome(next: number): boolean {
    if (!this.copied) return false;
    // The first record held: the hole is short, and this runs for every arrival while it stays.
    let first: StreamRecord | undefined;
    for (let s = next + 1; !first && s <= next + this.timing.window; s++) first = this.pending.get(s);
    if (!first?.copySpan) return false;
    return this.newestSentAt <= first.sentAt + first.copySpan + COPY_MARGIN_MS;
  }

  /** The records from `from` to the first one held are lost: logged once as a range, counted, and every open session cut. */
  private giveUp(from: number, why: string): void {
    let to = Infinity;
    for (const sequence of this.pending.keys()) if (sequence < to) to = sequence;
    to -= 1;
    this.counts.gaps++;
    this.counts.lost += to - from + 1;
    log('stream-gap', { channel: this.name, from, to, records: to - from + 1, why, block: this.blocks.describe(from), sessionsCut: this.openSessions.size });
    this.cutSessions('gap');
    this.dropPieces();
    this.next = to + 1;
  }

  private hold(r: StreamRecord): void {
    this.pending.set(r.sequence, r);
    this.pendingBytes += r.data.length;
  }

  private deliver(r: StreamRecord): void {
    const ms = Math.max(0, Date.now() - r.sentAt);
    this.latency.add(ms);
    this.delivered.add(ms);
    switch (r.kind) {
      case StreamKind.DatagramPart:
        this.piece(r);
        return;
      case StreamKind.Datagram:
        if (r.session > 0) return this.lastPiece(r);
        this.outlet.datagram(r.data);
        break;
      case StreamKind.Open:
        if (this.openSessions.has(r.session)) this.cut(r.session, 'reopened');
        this.openSessions.add(r.session);
        this.counts.sessionsOpened++;
        this.outlet.open(r.session);
        break;
      case StreamKind.Data:
        if (!this.openSessions.has(r.session)) {
          this.counts.orphanRecords++;
          return;
        }
        this.outlet.data(r.session, r.data);
        break;
      case StreamKind.Close:
        if (!this.openSessions.delete(r.session)) {
          this.counts.orphanRecords++;
          return;
        }
        this.counts.sessionsClosed++;
        this.outlet.close(r.session);
        break;
    }
    this.counts.messagesOut++;
    this.counts.bytesOut += r.data.length;
  }

  /** A piece of a long datagram: the first starts it, each next must follow the one before (else the datagram is dropped). */
  private piece(r: StreamRecord): void {
    if (r.session === 0) this.dropPieces();
    if (r.session !== (this.pieces?.length ?? 0) || this.pieceBytes + r.data.length > MAX_DATAGRAM_BYTES) {
      this.dropPieces();
      this.counts.orphanRecords++;
      return;
    }
    (this.pieces ??= []).push(r.data);
    this.pieceBytes += r.data.length;
  }

  /** The last piece: the datagram whole, delivered as it came in on the low side. */
  private lastPiece(r: StreamRecord): void {
    const pieces = this.pieces;
    if (!pieces || pieces.length !== r.session || this.pieceBytes + r.data.length > MAX_DATAGRAM_BYTES) {
      this.dropPieces();
      this.counts.orphanRecords++;
      return;
    }
    pieces.push(r.data);
    const datagram = Buffer.concat(pieces, this.pieceBytes + r.data.length);
    this.pieces = undefined;
    this.pieceBytes = 0;
    this.counts.joined++;
    this.outlet.datagram(datagram);
    this.counts.messagesOut++;
    this.counts.bytesOut += datagram.length;
  }

  private dropPieces(): void {
    this.pieces = undefined;
    this.pieceBytes = 0;
  }

  private cutSessions(why: string): void {
    for (const session of [...this.openSessions]) this.cut(session, why);
  }

  private cut(session: number, why: string): void {
    this.openSessions.delete(session);
    this.counts.sessionsBroken++;
    this.outlet.abort(session);
    log('stream-session-cut', { channel: this.name, session, why });
  }

  /** A new sender session: its sequence numbers start again; sessions of the old one cannot go on. */
  private restart(senderSession: number): void {
    if (this.senderSession !== undefined) {
      this.counts.senderRestarts++;
      this.cutSessions('sender-restart');
    }
    this.senderSession = senderSession;
    this.next = undefined;
    this.pending.clear();
    this.pendingBytes = 0;
    this.dropPieces();
    this.newestSentAt = 0;
    this.copied = false;
    this.blocks = this.newBlocks();
    this.coded = false;
  }
}
