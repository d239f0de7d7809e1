import * as net from 'node:net';
import type { Endpoint } from '@diodesync/cli-kit';
import type { ChannelEncoder } from './channel-encoder.js';
import type { StreamOutbox } from './stream-outbox.js';

/**
 * A TCP listener on the low side: each accepted connection is a session of the channel (open,
 * its bytes in order, close). Reading pauses while the outbox is full: the producer is slowed by
 * TCP itself and nothing of a session is ever dropped on this side.
 */
export async function listenTcp(endpoint: Endpoint, channel: ChannelEncoder, outbox: StreamOutbox, events: {
  opened(session: number, peer: string): void;
  closed(session: number, bytes: number): void;
}): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let nextSession = 1;
  const server = net.createServer((socket) => {
    const session = nextSession++;
    let bytes = 0;
    sockets.add(socket);
    channel.open(session);
    events.opened(session, `${socket.remoteAddress}:${socket.remotePort}`);
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      channel.data(session, chunk);
      if (outbox.full) {
        socket.pause();
        outbox.whenDrained(() => socket.resume());
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      channel.close(session);
      events.closed(session, bytes);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(endpoint.port, endpoint.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Each open session ends with its close record, as if its client had hung up.
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
