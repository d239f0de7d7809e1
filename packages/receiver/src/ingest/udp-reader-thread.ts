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
import { openUdp, type UdpIoPreference } from '@diodesync/native';
import { isMulticast } from '@diodesync/cli-kit';
import { Ctl, SLOT_BYTES, WRAP, usableSlots, type RingMemory } from './udp-ring.js';

export interface ReaderSettings {
  host: string;
  port: number;
  receiveBufferBytes: number;
  multicastInterface?: string;
  /** --rcvbuf: the pages of the ring this thread touches stay within it (usableSlots); node:dgram queues no more than this either. */
  maxBufferedBytes: number;
  /** --io: at most this path. */
  io?: UdpIoPreference;
  /** The ring this thread fills and the main thread empties. */
  ring: RingMemory;
  /**
   * A frame type (the header's byte 5) whose datagrams a full ring does not drop: each goes to the
   * main thread in a message of its own (`kept`), a few thousand a second at most. Pass-through
   * stream frames: a large file that fills the ring must not cost syslog lines.
   */
  keepWhenFull?: number;
}

/** From this thread: ready, a failure, or `more` (new slots or drops: sent only when the main thread asked, see Ctl.notified). */
export type ReaderMessage =
  | { ready: { port: number; receiveBufferBytes: number; io: string } }
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
 * A full ring: how long to wait for the main thread to free slots (a garbage collection, a file
 * verified) before datagrams are drained and dropped; meanwhile the kernel's buffer holds them.
 */
const FULL_WAIT_MS = 10;

const settings = workerData as ReaderSettings;
const port = parentPort!;
const { slots } = settings.ring;
const ctl = new Int32Array(settings.ring.control);
const ring = new Uint8Array(settings.ring.data);
const lengths = new Int32Array(settings.ring.lengths);
const report = (err: unknown) => {
  const e = err as NodeJS.ErrnoException;
  port.postMessage({ error: { code: e.code, message: e.message } } satisfies ReaderMessage);
};

/**
 * Waits up to FULL_WAIT_MS for the main thread to release slots. Natively, in Atomics.wait (woken
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

/** Sends the datagrams of type `keepWhenFull` among the `n` received into `scratch` to the main thread; how many. */
function keep(scratch: { bytes: Uint8Array; lengths: Int32Array }, n: number, gro: boolean): number {
  const type = settings.keepWhenFull;
  if (type === undefined || gro) return 0; // with GRO, a slot may hold several datagrams
  let kept = 0;
  for (let i = 0; i < n; i++) {
    const at = i * SLOT_BYTES;
    const length = scratch.lengths[i]!;
    if (length <= TYPE_OFFSET || length > SLOT_BYTES || scratch.bytes[at + TYPE_OFFSET] !== type) continue;
    const second = Math.floor(Date.now() / 1000);
    if (second !== keptSecond) {
      keptSecond = second;
      keptThisSecond = 0;
    }
    if (++keptThisSecond > KEPT_PER_SECOND) continue;
    const copy = scratch.bytes.slice(at, at + length);
    port.postMessage({ kept: copy } satisfies ReaderMessage, [copy.buffer]);
    kept++;
  }
  return kept;
}

async function run(): Promise<void> {
  const { host, multicastInterface } = settings;
  const multicast = isMulticast(host);
  const socket = await openUdp({
    bind: { address: host, port: settings.port }, rcvbuf: settings.receiveBufferBytes, io: settings.io,
    // A multicast group may have other listeners on this host: share the port only then, and join on the named interface only.
    ...(multicast && { reuseAddr: true, join: { group: host, interface: multicastInterface } }),
    maxQueuedBytes: settings.maxBufferedBytes,
  });
  // socket.io.mode names the send path (gso); receiving, that is recvmmsg.
  const io = socket.io.mode === 'dgram' ? 'dgram' : 'mmsg';
  port.postMessage({ ready: { port: socket.port, receiveBufferBytes: socket.rcvbuf, io } } satisfies ReaderMessage);
  let produced = 0;
  let socketDropped = 0;
  let largest = 0;
  let usable = slots;
  let scratch: { bytes: Uint8Array; lengths: Int32Array } | undefined;
  try {
    while (Atomics.load(ctl, Ctl.stop) === 0) {
      const at = produced & (slots - 1);
      // Larger datagrams than before: the ring is cut short, back to slot 0 (the main thread skips the rest).
      const skip = at >= usable ? slots - at : 0;
      let released = Atomics.load(ctl, Ctl.released);
      if (slots - ((produced - released) | 0) < Math.max(1, skip)) {
        // Full: the main thread is behind. Give it a moment, then keep draining the socket, counting what is dropped.
        await waitForRelease(released, io === 'dgram');
        released = Atomics.load(ctl, Ctl.released);
        if (slots - ((produced - released) | 0) < Math.max(1, skip)) {
          scratch ??= { bytes: new Uint8Array(BATCH * SLOT_BYTES), lengths: new Int32Array(BATCH) };
          // Without waiting: the ring may have room again before anything more arrives, and that must not be dropped.
          const n = await socket.recvBatch(scratch.bytes, SLOT_BYTES, BATCH, scratch.lengths, 0);
          const dropped = n - keep(scratch, n, socket.io.gro);
          if (dropped > 0) {
            Atomics.add(ctl, Ctl.dropped, dropped);
            notify();
          }
          continue;
        }
      }
      if (skip > 0) {
        lengths[at] = WRAP;
        produced = (produced + skip) | 0;
        Atomics.store(ctl, Ctl.produced, produced);
        continue;
      }
      const room = Math.min(BATCH, slots - ((produced - released) | 0), usable - at);
      const n = await socket.recvBatch(ring, SLOT_BYTES, room, lengths, POLL_MS, at);
      if (socket.dropped !== socketDropped) {
        Atomics.add(ctl, Ctl.dropped, socket.dropped - socketDropped);
        socketDropped = socket.dropped;
        notify();
      }
      if (n === 0) continue;
      for (let i = at; i < at + n; i++) if (lengths[i]! > largest) largest = lengths[i]!;
      usable = usableSlots(settings.ring, largest, settings.maxBufferedBytes);
      produced = (produced + n) | 0;
      Atomics.store(ctl, Ctl.produced, produced); // after the lengths: the main thread reads them once it sees this
      notify();
    }
  } finally {
    await socket.close();
  }
}

run().then(() => port.close(), (err) => {
  report(err);
  port.close();
});
