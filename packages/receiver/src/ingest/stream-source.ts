import * as net from 'node:net';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { StreamDeframer, type Frame } from '@diodesync/protocol';
import type { TransportCounters } from '../counters.js';

export interface StreamSource {
  port: number;
  close(): Promise<void>;
}

/** Feeds one byte stream through its own deframer; drops and skipped bytes land in the receiver's counters. */
export function pipeStream(stream: Readable, counters: TransportCounters, onFrame: (frame: Frame) => void): Promise<void> {
  const deframer = new StreamDeframer();
  let skipped = 0;
  const drops = { ...deframer.counters.drops };
  return new Promise((resolve) => {
    stream.on('data', (chunk: Buffer) => {
      counters.bytesReceived += chunk.length;
      for (const frame of deframer.push(chunk)) {
        counters.framesReceived++;
        onFrame(frame);
      }
      // Carry the deframer's new drops over into the receiver's counters.
      counters.bytesSkipped += deframer.counters.bytesSkipped - skipped;
      skipped = deframer.counters.bytesSkipped;
      for (const reason of Object.keys(drops) as (keyof typeof drops)[]) {
        counters.framing[reason] += deframer.counters.drops[reason] - drops[reason];
        drops[reason] = deframer.counters.drops[reason];
      }
    });
    stream.on('error', () => undefined);
    stream.on('close', () => resolve());
    stream.on('end', () => resolve());
  });
}

/** tcp-listen://: the appliance's high side connects to us. Each connection has its own deframer. */
export async function listenTcp(host: string, port: number, counters: TransportCounters, onFrame: (frame: Frame) => void): Promise<StreamSource> {
  const connections = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections.add(socket);
    void pipeStream(socket, counters, onFrame).then(() => connections.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const socket of connections) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** tcp://: we connect to the appliance's high side, and reconnect with backoff whenever it drops. */
export function connectTcp(
  host: string, port: number, counters: TransportCounters, onFrame: (frame: Frame) => void,
  onState: (state: 'connected' | 'disconnected', detail: string) => void,
): StreamSource {
  let closed = false;
  let current: net.Socket | undefined;
  void (async () => {
    for (let attempt = 1; !closed; ) {
      const socket = net.connect({ host, port });
      current = socket;
      const connected = await new Promise<boolean>((resolve) => {
        socket.once('connect', () => resolve(true));
        socket.once('error', (err) => {
          onState('disconnected', err.message);
          resolve(false);
        });
      });
      if (connected) {
        attempt = 1;
        onState('connected', `tcp://${host}:${port}`);
        await pipeStream(socket, counters, onFrame);
        if (!closed) onState('disconnected', 'connection closed');
      } else attempt++;
      if (!closed) await sleep(Math.min(30_000, 250 * 2 ** Math.min(attempt - 1, 7)));
    }
  })();
  return {
    port,
    close: async () => {
      closed = true;
      current?.destroy();
    },
  };
}
