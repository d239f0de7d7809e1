/*
 * The capture:// reader, on a thread of its own (as udp-reader-thread.ts for UDP): it drains the
 * packet socket many frames per call, unwraps each to its UDP payload here (so the main thread
 * gets datagrams as from a UDP socket) and hands them over in batches; fragments, cut and
 * foreign packets are counted here and the counts go over with each batch. Memory between the
 * threads is bounded by `maxBufferedBytes`: beyond it the newest datagrams are dropped and counted.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openCapture } from '@diodesync/native';
import { CapturedDatagrams } from './captured-datagrams.js';
import { LinkType } from './link-frames.js';

export interface CaptureReaderSettings {
  interface: string;
  port: number;
  receiveBufferBytes: number;
  maxBufferedBytes: number;
  /** Int32Array: [0] = bytes handed over and not yet processed, [1] = 1 to stop this thread. */
  shared: SharedArrayBuffer;
}

export type CaptureCounts = { fragments: number; truncated: number; ignored: number; kernelDropped: number };

/** From this thread: as the UDP reader's, plus what was counted since the last batch. */
export type CaptureReaderMessage =
  | { ready: { receiveBufferBytes: number } }
  | { error: { code?: string; message: string } }
  | { batch: ArrayBuffer | null; bytes: number; dropped: number; counts: CaptureCounts; fragmentSeen: boolean };

const SLOTS = 64;
/** A whole frame of the largest IP packet, tags included. */
const SLOT_BYTES = 65_536 + 256;
const BATCH_BYTES = 1024 * 1024;
const POLL_MS = 100;

const settings = workerData as CaptureReaderSettings;
const port = parentPort!;
const shared = new Int32Array(settings.shared);

function run(): void {
  const socket = openCapture({ interface: settings.interface, port: settings.port, rcvbuf: settings.receiveBufferBytes });
  port.postMessage({ ready: { receiveBufferBytes: socket.rcvbuf } } satisfies CaptureReaderMessage);
  const scratch = Buffer.alloc(SLOTS * SLOT_BYTES);
  const lengths = new Uint32Array(SLOTS);
  let batch = Buffer.from(new ArrayBuffer(BATCH_BYTES));
  let batchBytes = 0;
  let dropped = 0;
  let fragmentSeen = false;
  const counts: CaptureCounts = { fragments: 0, truncated: 0, ignored: 0, kernelDropped: 0 };
  let kernelDropsSeen = 0;
  let kernelDropsAt = 0;
  const datagrams = new CapturedDatagrams(settings.port, { capture: counts }, (d) => {
    if (Atomics.load(shared, 0) + batchBytes + 4 + d.length > settings.maxBufferedBytes) {
      dropped++;
      return;
    }
    if (batchBytes + 4 + d.length > batch.length) handOver();
    batch.writeUInt32BE(d.length, batchBytes);
    d.copy(batch, batchBytes + 4);
    batchBytes += 4 + d.length;
  }, () => (fragmentSeen = true));
  const handOver = () => {
    // The kernel's drops, read at most once a second (a system call).
    if (Date.now() - kernelDropsAt >= 1000) {
      kernelDropsAt = Date.now();
      const total = socket.kernelDrops();
      counts.kernelDropped += total - kernelDropsSeen;
      kernelDropsSeen = total;
    }
    if (batchBytes === 0 && dropped === 0 && counts.fragments + counts.truncated + counts.ignored + counts.kernelDropped === 0) return;
    let out: ArrayBuffer | null = null;
    if (batchBytes > 0) {
      if (batchBytes < BATCH_BYTES / 8) out = batch.buffer.slice(0, batchBytes) as ArrayBuffer;
      else {
        out = batch.buffer as ArrayBuffer;
        batch = Buffer.from(new ArrayBuffer(BATCH_BYTES));
      }
      Atomics.add(shared, 0, batchBytes);
    }
    port.postMessage({ batch: out, bytes: batchBytes, dropped, counts: { ...counts }, fragmentSeen } satisfies CaptureReaderMessage, out ? [out] : []);
    batchBytes = 0;
    dropped = 0;
    counts.fragments = counts.truncated = counts.ignored = counts.kernelDropped = 0;
    fragmentSeen = false;
  };
  try {
    while (Atomics.load(shared, 1) === 0) {
      const n = socket.recvBatch(scratch, SLOT_BYTES, SLOTS, lengths, POLL_MS);
      for (let i = 0; i < n; i++) {
        const length = lengths[i]!;
        if (length === 0) continue; // sent by this host
        if (length > SLOT_BYTES) {
          counts.truncated++;
          continue;
        }
        datagrams.packet(LinkType.ETHERNET, scratch.subarray(i * SLOT_BYTES, i * SLOT_BYTES + length));
      }
      if (n < SLOTS) handOver();
    }
    kernelDropsAt = 0;
    handOver();
  } finally {
    socket.close();
  }
}

try {
  run();
} catch (err) {
  const e = err as NodeJS.ErrnoException;
  port.postMessage({ error: { code: e.code, message: e.message } } satisfies CaptureReaderMessage);
}
port.close();
