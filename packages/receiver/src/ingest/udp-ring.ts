/*
 * The ring of datagram slots the UDP reader thread fills and the main thread empties, in shared
 * memory: the reader receives into it (recvmmsg writes each datagram into its slot), the main
 * thread reads each datagram where it landed and then releases its slot. Only counters cross
 * between the threads, never the bytes.
 *
 *   data      slots x SLOT_BYTES: slot i holds one datagram at byte i * SLOT_BYTES
 *   lengths   slots x int32: the length of the datagram in slot i
 *   control   int32 counters, below
 *
 * `produced` and `released` count slots since the start and wrap at 2^32; with a power-of-two
 * slot count, `counter & (slots - 1)` is the slot and `(produced - released) | 0` how many are in
 * use, across the wrap too. A slot is the reader's again once released: anything that must
 * outlive the call that handles a datagram (a chunk waiting for its write, a frame waiting for
 * its header) is copied by whoever keeps it (see PartialObject.add, OrphanBuffer.hold).
 */

/** Indices into the control array. */
export const Ctl = {
  /** Slots filled (reader writes, after the lengths). */
  produced: 0,
  /** Slots the main thread is done with (main writes). */
  released: 1,
  /** 1: the reader stops (main writes). */
  stop: 2,
  /** 1: a `more` message is on its way; the main thread clears it before it reads `produced`. */
  notified: 3,
  /** Datagrams dropped because the ring was full, not yet reported (reader adds, main takes). */
  dropped: 4,
} as const;

/** One slot holds any UDP datagram (65,507 bytes at most): the kernel never cuts one. */
export const SLOT_BYTES = 65_536;

/** In the lengths array: the reader went back to slot 0 early, the slots from here to the end are skipped. */
export const WRAP = -1;

/** In the lengths array (main thread only): a datagram already handled out of turn (`urgent`), skipped in order. */
const HANDLED = -2;

/**
 * Memory is only touched where datagrams land: a 1472-byte datagram touches one 4 KiB page of
 * its 64 KiB slot. The ring has a slot per page of --rcvbuf, so at 1472 bytes it holds --rcvbuf
 * in pages; larger datagrams make the reader cycle through fewer slots (`usableSlots`), so that
 * the pages it touches stay within --rcvbuf (plus the one page per slot smaller ones touched).
 */
export const PAGE = 4096;
const MIN_SLOTS = 512;
/**
 * Datagrams handled in one turn of the event loop, at most: a main thread that fell behind
 * (thousands of slots waiting) still lets its write completions in between, which free the
 * byte budget the chunks it routes need.
 */
const MAX_PER_TURN = 256;
const MAX_SLOTS = 16_384;

/** Slots the reader cycles through once datagrams of `largest` bytes have been seen: at least one batch. */
export function usableSlots(ring: RingMemory, largest: number, budgetBytes: number): number {
  const pages = Math.max(1, Math.ceil(largest / PAGE));
  return Math.min(ring.slots, Math.max(64, Math.floor(budgetBytes / (pages * PAGE))));
}

export interface RingMemory {
  slots: number;
  data: SharedArrayBuffer;
  lengths: SharedArrayBuffer;
  control: SharedArrayBuffer;
}

/** The ring for a budget of `budgetBytes` (--rcvbuf): a power of two of slots, 512 to 16,384 (virtual memory: 64 KiB each). */
export function allocateRing(budgetBytes: number): RingMemory {
  const wanted = Math.min(MAX_SLOTS, Math.max(MIN_SLOTS, Math.floor(budgetBytes / PAGE)));
  let slots = 2 ** Math.floor(Math.log2(wanted));
  let data: SharedArrayBuffer | undefined;
  // The ring is mostly address space, never touched; where the host refuses that much (strict overcommit), a smaller ring.
  while (!data) {
    try {
      data = new SharedArrayBuffer(slots * SLOT_BYTES);
    } catch (err) {
      if (!(err instanceof RangeError) || slots <= 64) throw err;
      slots /= 2;
    }
  }
  return {
    slots,
    data,
    lengths: new SharedArrayBuffer(slots * 4),
    control: new SharedArrayBuffer(8 * 4),
  };
}

/**
 * The main thread's side: hands each new datagram to `onDatagram` as a view into its slot (valid
 * only during the call), releases the slots, and reports the reader's drops.
 */
export class RingReader {
  private readonly ctl: Int32Array;
  private readonly data: Buffer;
  private readonly lengths: Int32Array;
  private consumed = 0;
  private continuing = false;
  /** Slots before this were looked at for urgent datagrams already. */
  private scanned = 0;

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
    this.lengths = new Int32Array(ring.lengths);
  }

  /** Asks the reader to stop (it looks between two receives). */
  stop(): void {
    Atomics.store(this.ctl, Ctl.stop, 1);
  }

  /** Takes every datagram produced so far; releases slots every batch so that the reader can go on meanwhile. */
  drain(): void {
    const { ctl, lengths, data } = this;
    Atomics.store(ctl, Ctl.notified, 0); // before reading `produced`: a later batch then sends `more` again
    const dropped = Atomics.exchange(ctl, Ctl.dropped, 0);
    if (dropped > 0) this.onDropped(dropped);
    const mask = this.ring.slots - 1;
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
      while (consumed !== produced && ((produced - consumed) | 0) > 0) {
        const slot = consumed & mask;
        const length = lengths[slot]!;
        if (length === WRAP) {
          consumed = (consumed + this.ring.slots - slot) | 0;
          continue;
        }
        consumed = (consumed + 1) | 0;
        if (length === HANDLED) continue;
        // Longer than a slot: cut by the kernel (cannot happen below 64 KiB), dropped and counted.
        if (length > SLOT_BYTES) this.onDropped(1);
        else this.onDatagram(data.subarray(slot * SLOT_BYTES, slot * SLOT_BYTES + length));
        if ((consumed & 63) === 0) Atomics.store(ctl, Ctl.released, consumed);
      }
    } finally {
      this.consumed = consumed;
      Atomics.store(ctl, Ctl.released, consumed);
      Atomics.notify(ctl, Ctl.released); // a reader waiting on a full ring
    }
  }

  /** Hands every urgent datagram produced up to `all` over now, wherever it lies in the ring, and marks its slot handled. */
  private takeUrgent(all: number): void {
    const { lengths, data, urgent } = this;
    const mask = this.ring.slots - 1;
    let at = ((this.scanned - this.consumed) | 0) > 0 ? this.scanned : this.consumed;
    while (((all - at) | 0) > 0) {
      const slot = at & mask;
      const length = lengths[slot]!;
      if (length === WRAP) {
        at = (at + this.ring.slots - slot) | 0;
        continue;
      }
      at = (at + 1) | 0;
      if (length <= 0 || length > SLOT_BYTES) continue;
      const datagram = data.subarray(slot * SLOT_BYTES, slot * SLOT_BYTES + length);
      if (!urgent!(datagram)) continue;
      lengths[slot] = HANDLED;
      this.onDatagram(datagram);
    }
    this.scanned = at;
  }
}
