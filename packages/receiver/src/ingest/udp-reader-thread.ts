/*
 * The UDP socket reader, on a thread of its own. The main thread verifies, writes and renames;
 * while it is busy (a garbage collection, a manifest of 10,000 files) the kernel's buffer, capped
 * by net.core.rmem_max, fills in milliseconds at line rate and the kernel drops datagrams nobody
 * counts. This thread only drains the socket, many datagrams per system call (recvmmsg through
 * the native addon, node:dgram where it is missing), into batches handed to the main thread, so
 * a busy main thread costs memory (up to `maxBufferedBytes`, then the newest datagrams are
 * dropped and counted), never silent loss.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openUdp, type UdpIoPreference } from '@diodesync/native';
import { isMulticast } from '@diodesync/cli-kit';

export interface ReaderSettings {
  host: string;
  port: number;
  receiveBufferBytes: number;
  multicastInterface?: string;
  maxBufferedBytes: number;
  /** --io: at most this path. */
  io?: UdpIoPreference;
  /**
   * Int32Array over a SharedArrayBuffer: [0] = bytes handed over and not yet processed,
   * [1] = set to 1 by the main thread to stop this one.
   */
  shared: SharedArrayBuffer;
}

/** From this thread: a batch of datagrams in its first `bytes` (each a 4-byte big-endian length, then its bytes), and what was dropped. */
export type ReaderMessage =
  | { ready: { port: number; receiveBufferBytes: number; io: string } }
  | { error: { code?: string; message: string } }
  | { batch: ArrayBuffer | null; bytes: number; dropped: number };

/** Datagrams per recvmmsg, each in a slot large enough for any UDP datagram. */
const SLOTS = 64;
const SLOT_BYTES = 65_536;
/** A batch goes to the main thread when the socket is drained, or at this size. */
const BATCH_BYTES = 1024 * 1024;
/** How long one receive waits before the stop flag is looked at again. */
const POLL_MS = 100;

const settings = workerData as ReaderSettings;
const port = parentPort!;
const shared = new Int32Array(settings.shared);
const report = (err: unknown) => {
  const e = err as NodeJS.ErrnoException;
  port.postMessage({ error: { code: e.code, message: e.message } } satisfies ReaderMessage);
};

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
  const scratch = Buffer.alloc(SLOTS * SLOT_BYTES);
  const lengths = new Uint32Array(SLOTS);
  let batch = Buffer.from(new ArrayBuffer(BATCH_BYTES));
  let batchBytes = 0;
  let dropped = 0;
  const handOver = () => {
    if (batchBytes === 0 && dropped === 0) return;
    let out: ArrayBuffer | null = null;
    if (batchBytes > 0) {
      // A small batch is copied out (the buffer stays); a large one is handed over whole, no copy.
      if (batchBytes < BATCH_BYTES / 8) out = batch.buffer.slice(0, batchBytes) as ArrayBuffer;
      else {
        out = batch.buffer as ArrayBuffer;
        batch = Buffer.from(new ArrayBuffer(BATCH_BYTES));
      }
      Atomics.add(shared, 0, batchBytes);
    }
    port.postMessage({ batch: out, bytes: batchBytes, dropped } satisfies ReaderMessage, out ? [out] : []);
    batchBytes = 0;
    dropped = 0;
  };
  try {
    while (Atomics.load(shared, 1) === 0) {
      const n = await socket.recvBatch(scratch, SLOT_BYTES, SLOTS, lengths, POLL_MS);
      for (let i = 0; i < n; i++) {
        const length = lengths[i]!;
        // Longer than any datagram a sender makes, or over the memory bound: dropped and counted.
        if (length > SLOT_BYTES || Atomics.load(shared, 0) + batchBytes + 4 + length > settings.maxBufferedBytes) {
          dropped++;
          continue;
        }
        if (batchBytes + 4 + length > batch.length) handOver();
        batch.writeUInt32BE(length, batchBytes);
        scratch.copy(batch, batchBytes + 4, i * SLOT_BYTES, i * SLOT_BYTES + length);
        batchBytes += 4 + length;
      }
      // The socket is drained (a short batch): what we hold goes over now.
      if (n < SLOTS) handOver();
    }
    handOver();
  } finally {
    await socket.close();
  }
}

run().then(() => port.close(), (err) => {
  report(err);
  port.close();
});
