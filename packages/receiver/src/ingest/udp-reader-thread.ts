/*
 * The UDP socket reader, on a thread of its own. The main thread verifies, writes and renames;
 * while it is busy (a garbage collection, a manifest of 10,000 files) the kernel's buffer, capped
 * by net.core.rmem_max, fills in milliseconds at line rate and the kernel drops datagrams nobody
 * counts. This thread only drains the socket into batches, so a busy main thread costs memory
 * (up to `maxBufferedBytes`, then the newest datagrams are dropped and counted), never silent loss.
 */
import * as dgram from 'node:dgram';
import { isIP } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
// Not the package index: it loads the FEC addon, which a worker thread has no use for.
import { isMulticast } from '@diodesync/protocol/endpoint';

export interface ReaderSettings {
  host: string;
  port: number;
  receiveBufferBytes: number;
  multicastInterface?: string;
  maxBufferedBytes: number;
  /** Int32Array over a SharedArrayBuffer: [0] = bytes handed over and not yet processed. */
  buffered: SharedArrayBuffer;
}

/** From this thread: a batch of datagrams (each a 4-byte big-endian length, then its bytes), and what was dropped. */
export type ReaderMessage =
  | { ready: { port: number } }
  | { error: { code?: string; message: string } }
  | { batch: ArrayBuffer | null; dropped: number };

const settings = workerData as ReaderSettings;
const port = parentPort!;
const buffered = new Int32Array(settings.buffered);
let batch: Buffer[] = [];
let batchBytes = 0;
let dropped = 0;
let flushScheduled = false;

function flush(): void {
  flushScheduled = false;
  let out: ArrayBuffer | null = null;
  if (batch.length > 0) {
    out = new ArrayBuffer(batchBytes);
    const view = Buffer.from(out);
    let offset = 0;
    for (const d of batch) {
      view.writeUInt32BE(d.length, offset);
      view.set(d, offset + 4);
      offset += 4 + d.length;
    }
    Atomics.add(buffered, 0, batchBytes);
  }
  port.postMessage({ batch: out, dropped } satisfies ReaderMessage, out ? [out] : []);
  batch = [];
  batchBytes = 0;
  dropped = 0;
}

function onDatagram(datagram: Buffer): void {
  const bytes = 4 + datagram.length;
  if (Atomics.load(buffered, 0) + batchBytes + bytes > settings.maxBufferedBytes) dropped++;
  else {
    batch.push(datagram);
    batchBytes += bytes;
  }
  // Everything the socket had in this turn of the event loop goes over in one message.
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
}

const { host, multicastInterface } = settings;
const multicast = isMulticast(host);
// A multicast group may have other listeners on this host: share the port only then.
const socket = dgram.createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4', reuseAddr: multicast });
socket.once('error', (err: NodeJS.ErrnoException) => {
  port.postMessage({ error: { code: err.code, message: err.message } } satisfies ReaderMessage);
  socket.close();
  port.close();
});
socket.bind(settings.port, host, () => {
  socket.removeAllListeners('error');
  socket.on('error', (err: NodeJS.ErrnoException) => port.postMessage({ error: { code: err.code, message: err.message } } satisfies ReaderMessage));
  try {
    // Join on the named interface only (the test suite pins it to lo).
    if (multicast) socket.addMembership(host, multicastInterface);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    port.postMessage({ error: { code: e.code, message: e.message } } satisfies ReaderMessage);
    socket.close();
    port.close();
    return;
  }
  try {
    socket.setRecvBufferSize(settings.receiveBufferBytes);
  } catch {
    // Capped by net.core.rmem_max: the kernel grants what it allows.
  }
  socket.on('message', onDatagram);
  port.postMessage({ ready: { port: socket.address().port } } satisfies ReaderMessage);
});
port.on('message', () => {
  socket.close();
  port.close();
});
