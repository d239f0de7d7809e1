/*
 * The ring of datagrams the UDP reader thread fills and the main thread empties, in shared
 * memory: the reader receives into it (recvmmsg writes each datagram where it will be read), the
 * main thread reads each datagram where it landed and then releases it. Only counters cross
 * between the threads, never the bytes.
 *
 *   data      bytes: datagrams packed one after the other (16-byte aligned), never split by the end
 *   offsets   entries x int32: where datagram i starts in data
 *   lengths   entries x int32: its length
 *   segments  entries x int32: its GRO segment size when it holds several datagrams (0: one)
 *   control   int32 counters, below
 *
 * Datagrams are received at the size the reader has seen lately (`Stride`), each into a room that
 * long, and one much shorter than its room is moved down next to the one before (packed): at 1472
 * bytes the ring holds as many as --rcvbuf bytes do, and after a GRO message of 64 KiB still at
 * least half (a ring of one 64 KiB slot or one page per datagram held far fewer). `produced` and `released` count entries since the start and wrap at 2^32; with a
 * power-of-two entry count, `counter & (entries - 1)` is the entry and `(produced - released) | 0`
 * how many are in use, across the wrap too. The bytes in use run from the oldest entry not
 * released to the end of the newest. A datagram's bytes are the reader's again once released:
 * anything that must outlive the call that handles it (a chunk waiting for its write, a frame
 * waiting for its header) is copied by whoever keeps it (see PartialObject.add, OrphanBuffer.hold).
 */

/** Indices into the control array. */
export const Ctl = {
  /** Entries filled (reader writes, after offsets, lengths and segments). */
  produced: 0,
  /** Entries the main thread is done with (main writes). */
  released: 1,
  /** 1: the reader stops (main writes). */
  stop: 2,
  /** 1: a `more` message is on its way; the main thread clears it before it reads `produced`. */
  notified: 3,
  /** Datagrams dropped because the ring was full, not yet reported (reader adds, main takes). */
  dropped: 4,
} as const;

/** The largest datagram the ring takes (UDP's own limit is 65,507 bytes; a GRO message 65,535). */
export const MAX_DATAGRAM = 65_536;
/** Datagram starts are aligned to this. */
export const ALIGN = 16;
/** The smallest data area (a tiny --rcvbuf still holds a batch of large datagrams). */
const MIN_DATA_BYTES = 256 * 1024;
/**
 * Entries per byte of data: one per KiB, so that datagrams of 1 KiB and more are limited by the
 * bytes, not the entries (a stride below that is limited by entries: still a few thousand).
 */
const BYTES_PER_ENTRY = 1024;
const MIN_ENTRIES = 512;
/**
 * Datagrams handled in one turn of the event loop, at most: a main thread that fell behind
 * (thousands of datagrams waiting) still lets its write completions in between, which free the
 * byte budget the chunks it routes need.
 */
const MAX_PER_TURN = 256;
/** In the lengths array (main thread only): a datagram already handled out of turn (`urgent`), skipped in order. */
const HANDLED = -2;

export interface RingMemory {
  /** Entries: a power of two. */
  entries: number;
  data: SharedArrayBuffer;
  offsets: SharedArrayBuffer;
  lengths: SharedArrayBuffer;
  segments: SharedArrayBuffer;
  control: SharedArrayBuffer;
}

export function alignUp(n: number): number {
  return (n + ALIGN - 1) & ~(ALIGN - 1);
}

/**
 * The ring for a budget of `budgetBytes` (--rcvbuf): that many bytes of data (plus room for one
 * largest datagram), so that it holds what the socket's buffer holds; all of it is touched in turn.
 */
export function allocateRing(budgetBytes: number): RingMemory {
  const dataBytes = alignUp(Math.max(MIN_DATA_BYTES, budgetBytes) + MAX_DATAGRAM);
  const entries = 2 ** Math.ceil(Math.log2(Math.max(MIN_ENTRIES, dataBytes / BYTES_PER_ENTRY)));
  return {
    entries,
    data: new SharedArrayBuffer(dataBytes),
    offsets: new SharedArrayBuffer(entries * 4),
    lengths: new SharedArrayBuffer(entries * 4),
    segments: new SharedArrayBuffer(entries * 4),
    control: new SharedArrayBuffer(8 * 4),
  };
}

/**
 * The stride the reader packs a batch at: the largest datagram of the last two windows of
 * WINDOW datagrams (aligned), so that a single large one does not cut the ring's capacity for
 * long; one larger than the stride is put together by the reader (see udp-reader-thread.ts).
 */
export class Stride {
  static readonly WINDOW = 4096;
  /** Before anything has arrived: a full-size Ethernet datagram fits. */
  value = alignUp(1472);
  private current = 0;
  private previous = 0;
  private seen = 0;

  /** Records a datagram's length (call for each). */
  saw(length: number): void {
    if (length > this.current) this.current = Math.min(length, MAX_DATAGRAM);
    if (++this.seen >= Stride.WINDOW) {
      this.previous = this.current;
      this.current = 0;
      this.seen = 0;
    }
  }

  /** After a batch: the stride for the next. */
  update(): number {
    this.value = Math.max(ALIGN, alignUp(Math.max(this.previous, this.current)));
    return this.value;
  }
}

/**
 * The main thread's side: hands each new datagram to `onDatagram` as a view into the ring (valid
 * only during the call; a GRO message as its datagrams, one view each), releases them, and
 * reports the reader's drops.
 */
export class RingReader {
  private readonly ctl: Int32Array;
  private readonly data: Buffer;
  private readonly offsets: Int32Array;
  private readonly lengths: Int32Array;
  private readonly segments: Int32Array;
  private consumed = 0;
  private continuing = false;
  /** Entries before this were looked at for urgent datagrams already. */
  private scanned = 0;
  /** GRO messages split so far (each held several datagrams). */
  coalesced = 0;

  constructor(
    private readonly ring: RingMemory,
    private readonly onDatagram: (datagram: Buffer) => void,
    private readonly onDropped: (count: number) => void,
    /**
     * Datagrams to handle ahead of the others in the ring (pass-through stream frames: a large file
     * must not delay syslog by what the ring holds); each still goes to `onDatagram`, once.
     */
    private readonly urgent?: (datagram: Buffer) => boolean,
  ) {
    this.ctl = new Int32Array(ring.control);
    this.data = Buffer.from(ring.data);
    this.offsets = new Int32Array(ring.offsets);
    this.lengths = new Int32Array(ring.lengths);
    this.segments = new Int32Array(ring.segments);
  }

  /** Asks the reader to stop (it looks between two receives). */
  stop(): void {
    Atomics.store(this.ctl, Ctl.stop, 1);
  }

  /** Takes every datagram produced so far; releases entries every batch so that the reader can go on meanwhile. */
  drain(): void {
    const { ctl, offsets, lengths, segments, data } = this;
    Atomics.store(ctl, Ctl.notified, 0); // before reading `produced`: a later batch then sends `more` again
    const dropped = Atomics.exchange(ctl, Ctl.dropped, 0);
    if (dropped > 0) this.onDropped(dropped);
    const mask = this.ring.entries - 1;
    let consumed = this.consumed;
    const all = Atomics.load(ctl, Ctl.produced);
    const available = (all - consumed) | 0;
    const produced = (consumed + Math.min(available, MAX_PER_TURN)) | 0;
    if (this.urgent) this.takeUrgent(all);
    if (available > MAX_PER_TURN && !this.continuing) {
      this.continuing = true;
      setImmediate(() => {
        this.continuing = false;
        this.drain();
      });
    }
    try {
      while (consumed !== produced) {
        const entry = consumed & mask;
        const start = offsets[entry]!;
        const length = lengths[entry]!;
        const segment = segments[entry]!;
        consumed = (consumed + 1) | 0;
        if (length === HANDLED) continue;
        if (segment > 0 && segment < length) {
          // A GRO message: datagrams of `segment` bytes, the last may be shorter.
          this.coalesced++;
          for (let at = 0; at < length; at += segment) {
            this.onDatagram(data.subarray(start + at, start + Math.min(length, at + segment)));
          }
        } else {
          this.onDatagram(data.subarray(start, start + length));
        }
        if ((consumed & 63) === 0) Atomics.store(ctl, Ctl.released, consumed);
      }
    } finally {
      this.consumed = consumed;
      Atomics.store(ctl, Ctl.released, consumed);
      Atomics.notify(ctl, Ctl.released); // a reader waiting on a full ring
    }
  }

  /** Hands every urgent datagram produced up to `all` over now, wherever it lies in the ring, and marks its entry handled. */
  private takeUrgent(all: number): void {
    const { offsets, lengths, segments, data, urgent } = this;
    const mask = this.ring.entries - 1;
    let at = ((this.scanned - this.consumed) | 0) > 0 ? this.scanned : this.consumed;
    for (; ((all - at) | 0) > 0; at = (at + 1) | 0) {
      const entry = at & mask;
      const length = lengths[entry]!;
      // A GRO message holds several datagrams: it keeps its turn.
      if (length <= 0 || segments[entry]! > 0) continue;
      const datagram = data.subarray(offsets[entry]!, offsets[entry]! + length);
      if (!urgent!(datagram)) continue;
      lengths[entry] = HANDLED;
      this.onDatagram(datagram);
    }
    this.scanned = at;
  }
}
