import { Worker } from 'node:worker_threads';
import type { UdpIoPreference } from '@diodesync/native';
import type { ReaderMessage, ReaderSettings } from './udp-reader-thread.js';
import { allocateRing, RingReader } from './udp-ring.js';

export interface UdpSource {
  port: number;
  /** What the kernel granted for SO_RCVBUF (Linux reports twice the usable size). */
  receiveBufferBytes: number;
  /** The receive path: mmsg (recvmmsg through the addon) or dgram (node:dgram). */
  io: string;
  /** Whether UDP_GRO is on (--gro), and why not when it was asked for and is not. */
  groOn: boolean;
  groReason: string;
  /** GRO messages split into their datagrams so far. */
  coalesced(): number;
  close(): Promise<void>;
}

export interface UdpSourceHandlers {
  /** A view into the ring, valid during this call only: whatever is kept must be copied. */
  onDatagram(datagram: Buffer): void;
  /** Datagrams the reader thread dropped because its ring (sized by `receiveBufferBytes`) was full. */
  onOverflow(count: number): void;
  /** The reader thread failed after it started: nothing more will arrive. */
  onFailure(err: Error): void;
  /** Datagrams handled ahead of those queued before them (RingReader's `urgent`). */
  urgent?: (datagram: Buffer) => boolean;
  /** A frame type whose datagrams a full ring does not drop (ReaderSettings.keepWhenFull): they come to onDatagram out of the ring. */
  keepWhenFull?: number;
}

/**
 * Binds a UDP socket in a reader thread (see udp-reader-thread.ts) and hands every datagram
 * over, from the shared ring the thread receives into (udp-ring.ts), sized by `receiveBufferBytes`.
 */
export async function listenUdp(
  host: string,
  port: number,
  receiveBufferBytes: number,
  handlers: UdpSourceHandlers,
  multicastInterface?: string,
  io?: UdpIoPreference,
  gro?: boolean,
): Promise<UdpSource> {
  const ring = allocateRing(receiveBufferBytes);
  const settings: ReaderSettings = { host, port, receiveBufferBytes, multicastInterface, maxBufferedBytes: receiveBufferBytes, ring, io, gro, keepWhenFull: handlers.keepWhenFull };
  const reader = new RingReader(ring, handlers.onDatagram, handlers.onOverflow, handlers.urgent);
  const worker = new Worker(new URL('./udp-reader-thread.js', import.meta.url), { workerData: settings });
  let started = false;
  // One listener from the start: a `more` may follow `ready` before the await below resumes, and it is not sent twice.
  worker.on('message', (message: ReaderMessage) => {
    if ('more' in message) reader.drain();
    else if ('kept' in message) handlers.onDatagram(Buffer.from(message.kept.buffer, message.kept.byteOffset, message.kept.length));
    else if ('error' in message && started) handlers.onFailure(new Error(message.error.message));
  });
  const ready = await new Promise<{ port: number; receiveBufferBytes: number; io: string; gro: boolean; groReason: string }>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', function first(message: ReaderMessage) {
      if (!('ready' in message) && !('error' in message)) return;
      worker.off('message', first);
      worker.off('error', reject);
      started = 'ready' in message;
      if ('ready' in message) resolve(message.ready);
      else reject(Object.assign(new Error(message.error.message), { code: message.error.code }));
    });
  });
  worker.on('error', (err) => handlers.onFailure(err));
  const { gro: groOn, ...rest } = ready;
  return {
    ...rest,
    groOn,
    coalesced: () => reader.coalesced,
    close: async () => {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      reader.stop(); // the thread looks at this between two receives (at most 100 ms)
      await exited;
      reader.drain(); // what it received before it stopped
    },
  };
}
