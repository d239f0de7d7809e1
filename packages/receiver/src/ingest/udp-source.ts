import { Worker } from 'node:worker_threads';
import type { UdpIoPreference } from '@diodesync/native';
import type { ReaderMessage, ReaderSettings } from './udp-reader-thread.js';

export interface UdpSource {
  port: number;
  /** What the kernel granted for SO_RCVBUF (Linux reports twice the usable size). */
  receiveBufferBytes: number;
  /** The receive path: mmsg (recvmmsg through the addon) or dgram (node:dgram). */
  io: string;
  close(): Promise<void>;
}

export interface UdpSourceHandlers {
  onDatagram(datagram: Buffer): void;
  /** Datagrams the reader thread dropped because `receiveBufferBytes` were already waiting. */
  onOverflow(count: number): void;
  /** The reader thread failed after it started: nothing more will arrive. */
  onFailure(err: Error): void;
}

/**
 * Binds a UDP socket in a reader thread (see udp-reader-thread.ts) and hands every datagram
 * over. Up to `receiveBufferBytes` wait between the two threads, on top of the kernel's buffer.
 */
export async function listenUdp(
  host: string,
  port: number,
  receiveBufferBytes: number,
  handlers: UdpSourceHandlers,
  multicastInterface?: string,
  io?: UdpIoPreference,
): Promise<UdpSource> {
  const shared = new SharedArrayBuffer(8);
  const pending = new Int32Array(shared);
  const settings: ReaderSettings = { host, port, receiveBufferBytes, multicastInterface, maxBufferedBytes: receiveBufferBytes, shared, io };
  const worker = new Worker(new URL('./udp-reader-thread.js', import.meta.url), { workerData: settings });
  const ready = await new Promise<{ port: number; receiveBufferBytes: number; io: string }>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', function first(message: ReaderMessage) {
      if (!('ready' in message) && !('error' in message)) return;
      worker.off('message', first);
      worker.off('error', reject);
      if ('ready' in message) resolve(message.ready);
      else reject(Object.assign(new Error(message.error.message), { code: message.error.code }));
    });
  });
  worker.on('error', (err) => handlers.onFailure(err));
  worker.on('message', (message: ReaderMessage) => {
    if ('error' in message) return handlers.onFailure(new Error(message.error.message));
    if (!('batch' in message)) return;
    if (message.dropped > 0) handlers.onOverflow(message.dropped);
    if (!message.batch) return;
    const batch = Buffer.from(message.batch, 0, message.bytes);
    for (let offset = 0; offset < batch.length; ) {
      const length = batch.readUInt32BE(offset);
      // A copy: a frame kept for later (a chunk waiting for its header) must not pin the whole batch.
      handlers.onDatagram(Buffer.from(batch.subarray(offset + 4, offset + 4 + length)));
      offset += 4 + length;
    }
    Atomics.sub(pending, 0, batch.length);
  });
  return {
    ...ready,
    close: async () => {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      Atomics.store(pending, 1, 1); // the thread looks at this between two receives (at most 100 ms)
      await exited;
    },
  };
}
