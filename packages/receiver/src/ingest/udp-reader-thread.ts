/*
 * The UDP socket reader, on a thread of its own. The main thread verifies, writes and renames;
 * while it is busy (a garbage collection, a manifest of 10,000 files) the kernel's buffer, capped
 * by net.core.rmem_max, fills in milliseconds at line rate and the kernel drops datagrams nobody
 * counts. This thread only drains the socket, many datagrams per system call (recvmmsg through
 * the native addon, node:dgram where it is missing), straight into a ring of slots in shared
 * memory (udp-ring.ts); the main thread reads the datagrams where they landed and releases the
 * slots. Nothing is copied and nothing allocated per datagram on the way. A busy main thread
 * costs the ring (bounded), then datagrams dropped here and counted, never silent loss.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openUdp, SPILL_STRIDE, type UdpIoPreference } from '@diodesync/native';
import { isMulticast } from '@diodesync/cli-kit';
import { alignUp, Ctl, MAX_DATAGRAM, Stride, type RingMemory } from './udp-ring.js';

export interface ReaderSettings {
  host: string;
  port: number;
  receiveBufferBytes: number;
  multicastInterface?: string;
  /** --rcvbuf: node:dgram queues no more than this (the ring holds as much again). */
  maxBufferedBytes: number;
  /** --io: at most this path. */
  io?: UdpIoPreference;
  /** --gro: ask the kernel for UDP_GRO (several datagrams of one size in one receive). */
  gro?: boolean;
  /** The ring this thread fills and the main thread empties. */
  ring: RingMemory;
  /**
   * A frame type (the header's byte 5) whose datagrams a full ring does not drop: each goes to the
   * main thread in a message of its own (`kept`), a few thousand a second at most. Pass-through
   * stream frames: a large file that fills the ring must not cost syslog lines.
   */
  keepWhenFull?: number;
}

/** From this thread: ready, a failure, or `more` (new entries or drops: sent only when the main thread asked, see Ctl.notified). */
export type ReaderMessage =
  | { ready: { port: number; receiveBufferBytes: number; io: string; gro: boolean; groReason: string } }
  | { error: { code?: string; message: string } }
  | { more: true }
  | { kept: Uint8Array };

/** Where a frame's type lies in its header (HEADER_LAYOUT.type.offset). */
const TYPE_OFFSET = 5;
/** Datagrams a full ring keeps (`keepWhenFull`) per second at most: the rest are dropped and counted as before. */
const KEPT_PER_SECOND = 8192;

/** Datagrams per recvmmsg at most. */
const BATCH = 64;
/** How long one receive waits before the stop flag is looked at again. */
const POLL_MS = 100;
/**
 * A full ring: how long to wait for the main thread to free room (a garbage collection, a file
 * verified) before datagrams are drained and dropped; meanwhile the kernel's buffer holds them.
 */
const FULL_WAIT_MS = 10;

const settings = workerData as ReaderSettings;
const port = parentPort!;
const { entries } = settings.ring;
const entryMask = entries - 1;
const ctl = new Int32Array(settings.ring.control);
const data = new Uint8Array(settings.ring.data);
const offsets = new Int32Array(settings.ring.offsets);
const lengths = new Int32Array(settings.ring.lengths);
const segments = new Int32Array(settings.ring.segments);
/**
 * Where a datagram longer than the stride gets the rest of its bytes, and where it is put
 * together before it is copied into the ring (the one copy, made only when the size grows); and
 * where datagrams are drained to when the ring is full. Only the pages datagrams reach are touched.
 */
const spill = new Uint8Array(BATCH * SPILL_STRIDE);
const report = (err: unknown) => {
  const e = err as NodeJS.ErrnoException;
  port.postMessage({ error: { code: e.code, message: e.message } } satisfies ReaderMessage);
};

/**
 * Waits up to FULL_WAIT_MS for the main thread to release entries. Natively, in Atomics.wait (woken
 * as soon as it releases). On node:dgram the socket's datagrams come through this thread's event
 * loop, which must keep turning (the wrapper's queue is bounded and counts its drops): a timer.
 */
async function waitForRelease(released: number, eventLoop: boolean): Promise<void> {
  if (eventLoop) await new Promise((resolve) => setTimeout(resolve, FULL_WAIT_MS));
  else Atomics.wait(ctl, Ctl.released, released, FULL_WAIT_MS);
}

/** Wakes the main thread, once until it has looked (it clears Ctl.notified before it reads Ctl.produced). */
function notify(): void {
  if (Atomics.exchange(ctl, Ctl.notified, 1) === 0) port.postMessage({ more: true } satisfies ReaderMessage);
}

let keptSecond = 0;
let keptThisSecond = 0;

/** A datagram about to be dropped (in the spill at `at`): sent to the main thread instead if its type is `keepWhenFull`. */
function keep(at: number, length: number): boolean {
  const type = settings.keepWhenFull;
  if (type === undefined || length <= TYPE_OFFSET || length > SPILL_STRIDE || spill[at + TYPE_OFFSET] !== type) return false;
  const second = Math.floor(Date.now() / 1000);
  if (second !== keptSecond) {
    keptSecond = second;
    keptThisSecond = 0;
  }
  if (++keptThisSecond > KEPT_PER_SECOND) return false;
  const copy = spill.slice(at, at + length);
  port.postMessage({ kept: copy } satisfies ReaderMessage, [copy.buffer]);
  return true;
}

/** The reader's position: entries produced, and where the next datagram's bytes go. */
let produced = 0;
let head = 0;
/** Set by freeRun: the bytes free from the start it returned. */
let run = 0;

/**
 * Where at least `want` bytes are free in one run, given the entries released so far: at `head`,
 * else from byte 0 (the end of the data is then skipped); -1 when the ring is full.
 */
function freeRun(released: number, want: number): number {
  const used = (produced - released) | 0;
  if (used >= entries) return -1;
  if (used === 0) {
    if (data.length - head >= want) return (run = data.length - head), head;
    return (run = data.length), 0;
  }
  const tail = offsets[released & entryMask]!; // the oldest datagram still in use
  if (head > tail) {
    if (data.length - head >= want) return (run = data.length - head), head;
    if (tail >= want) return (run = tail), 0;
    return -1;
  }
  if (tail - head >= want) return (run = tail - head), head;
  return -1;
}

/**
 * Where a datagram received at `landed` (the start of its stride-long room) is kept: moved down to
 * `head`, right after the datagram before it, when the room that frees is larger than the bytes
 * moved. The stride is the largest size seen lately (a GRO message: 64 KiB), so a short datagram
 * left in its room wasted nearly all of it: a 2 MiB ring was full holding 150 KB. Left in place
 * only when the gap is smaller than the datagram, the ring wastes at most as much as it holds,
 * and a run of large ones is not copied.
 */
function packed(landed: number, length: number): number {
  if (landed - head <= length) return landed; // also the first of a batch (at head, or at 0 after a wrap)
  data.copyWithin(head, landed, landed + length);
  return head;
}

/** Publishes a datagram at `start` as the next entry (the main thread sees it at the next Ctl.produced store). */
function put(start: number, length: number, segment: number): void {
  const e = produced & entryMask;
  offsets[e] = start;
  lengths[e] = length;
  segments[e] = segment;
  head = start + alignUp(length);
  produced = (produced + 1) | 0;
}

async function run_(): Promise<void> {
  const { host, multicastInterface } = settings;
  const multicast = isMulticast(host);
  const socket = await openUdp({
    bind: { address: host, port: settings.port }, rcvbuf: settings.receiveBufferBytes, io: settings.io, gro: settings.gro,
    // A multicast group may have other listeners on this host: share the port only then, and join on the named interface only.
    ...(multicast && { reuseAddr: true, join: { group: host, interface: multicastInterface } }),
    maxQueuedBytes: settings.maxBufferedBytes,
  });
  // socket.io.mode names the send path (gso); receiving, that is recvmmsg.
  const io = socket.io.mode === 'dgram' ? 'dgram' : 'mmsg';
  const { gro, groReason } = socket.io;
  port.postMessage({ ready: { port: socket.port, receiveBufferBytes: socket.rcvbuf, io, gro, groReason } } satisfies ReaderMessage);
  // With GRO the stride learns coalesced messages (up to 64 KiB) as it learns any size.
  const stride = new Stride();
  let socketDropped = 0;
  let drainLengths: Int32Array | undefined;
  /** The ring stayed full after a wait and the socket is being drained: no wait before the next drain. */
  let dropping = false;
  /** Received whole into the spill (slot, length, GRO segment), waiting for room in the ring, oldest first. */
  let staged: { slot: number; length: number; segment: number }[] = [];
  try {
    while (Atomics.load(ctl, Ctl.stop) === 0) {
      let released = Atomics.load(ctl, Ctl.released);
      const next = staged[0];
      const want = next ? alignUp(next.length) : stride.value;
      let start = freeRun(released, want);
      if (start < 0) {
        // Full: the main thread is behind. Give it a moment, then keep draining the socket, counting what is dropped
        // (without waiting again while there is more: the kernel's buffer would overflow, uncounted).
        if (!dropping) await waitForRelease(released, io === 'dgram');
        released = Atomics.load(ctl, Ctl.released);
        start = freeRun(released, want);
        dropping = start < 0;
        if (start < 0) {
          let n = staged.length;
          // With GRO a datagram of the spill may hold several frames: none is kept then.
          let kept = 0;
          for (const s of staged) if (s.segment === 0 && keep(s.slot * SPILL_STRIDE, s.length)) kept++;
          staged = [];
          if (n === 0) {
            drainLengths ??= new Int32Array(BATCH);
            // Without waiting: the ring may have room again before anything more arrives, and that must not be dropped.
            n = await socket.recvBatch(spill, SPILL_STRIDE, BATCH, drainLengths, 0);
            if (!gro) for (let i = 0; i < n; i++) if (keep(i * SPILL_STRIDE, drainLengths[i]!)) kept++;
          }
          if (n > kept) {
            Atomics.add(ctl, Ctl.dropped, n - kept);
            notify();
          } else if (n === 0) {
            dropping = false;
          }
          continue;
        }
      }
      if (next) {
        // A datagram longer than the stride it was received at, put together in the spill: its one copy.
        staged.shift();
        data.set(spill.subarray(next.slot * SPILL_STRIDE, next.slot * SPILL_STRIDE + next.length), start);
        put(start, next.length, next.segment);
        Atomics.store(ctl, Ctl.produced, produced);
        notify();
        continue;
      }
      const s = stride.value;
      const first = produced & entryMask;
      const room = Math.min(BATCH, Math.floor(run / s), entries - ((produced - released) | 0), entries - first);
      const n = await socket.recvPacked(data, start, s, room, spill, lengths, segments, first, POLL_MS);
      if (socket.dropped !== socketDropped) {
        Atomics.add(ctl, Ctl.dropped, socket.dropped - socketDropped);
        socketDropped = socket.dropped;
        notify();
      }
      if (n === 0) continue;
      let i = 0;
      // Those that fit the stride are in place, or moved down next to the one before (packed); from the
      // first longer one on, each is put together in the spill.
      for (; i < n; i++) {
        const length = lengths[first + i]!;
        stride.saw(length);
        if (length > s) break;
        put(packed(start + i * s, length), length, segments[first + i]!);
      }
      let cut = 0;
      for (; i < n; i++) {
        const length = lengths[first + i]!;
        stride.saw(length);
        if (length > MAX_DATAGRAM) {
          cut++; // longer than any UDP datagram: cannot happen; dropped and counted
          continue;
        }
        const at = start + i * s;
        spill.set(data.subarray(at, at + Math.min(length, s)), i * SPILL_STRIDE);
        staged.push({ slot: i, length, segment: segments[first + i]! });
      }
      if (cut > 0) Atomics.add(ctl, Ctl.dropped, cut);
      stride.update();
      Atomics.store(ctl, Ctl.produced, produced); // after offsets, lengths and segments: the main thread reads them once it sees this
      notify();
    }
  } finally {
    await socket.close();
  }
}

run_().then(() => port.close(), (err) => {
  report(err);
  port.close();
});
