import * as net from 'node:net';
import type { Endpoint } from '@diodesync/cli-kit';
import { log } from '../log.js';
import type { ChannelOutlet, OutletCounts } from './channel-outlet.js';

/** Bytes a slow target may leave unwritten before its session is cut (the diode cannot slow the sender). */
const MAX_UNWRITTEN = 64 * 1024 * 1024;

/** `--deliver NAME=tcp://HOST:PORT`: one connection per session, its bytes written in order. */
export class TcpOutlet implements ChannelOutlet {
  readonly description: string;
  private readonly sockets = new Map<number, net.Socket>();

  constructor(private readonly endpoint: Endpoint, private readonly counts: OutletCounts, private readonly channel: string) {
    this.description = `tcp://${endpoint.host}:${endpoint.port}`;
  }

  datagram(): void {
    this.counts.deliveryErrors++;
  }

  open(session: number): void {
    // Writes made while it connects wait in the socket, in order.
    const socket = net.connect({ host: this.endpoint.host, port: this.endpoint.port, noDelay: true });
    this.sockets.set(session, socket);
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (this.sockets.get(session) !== socket) return;
      this.sockets.delete(session);
      this.counts.deliveryErrors++;
      log('stream-deliver-failed', { channel: this.channel, session, to: this.description, error: err.code ?? err.message });
    });
  }

  data(session: number, data: Buffer): void {
    const socket = this.sockets.get(session);
    if (!socket) {
      this.counts.deliveryErrors++;
      return;
    }
    // Records of a burst go out in one writev rather than one system call each.
    if (!socket.writableCorked) {
      socket.cork();
      process.nextTick(() => socket.uncork());
    }
    socket.write(data);
    if (socket.writableLength > MAX_UNWRITTEN) {
      log('stream-target-too-slow', { channel: this.channel, session, to: this.description, unwritten: socket.writableLength });
      this.counts.deliveryErrors++;
      this.abort(session);
    }
  }

  close(session: number): void {
    this.sockets.get(session)?.end();
    this.sockets.delete(session);
  }

  abort(session: number): void {
    const socket = this.sockets.get(session);
    if (!socket) return;
    this.sockets.delete(session);
    // A reset, not a FIN: the reader must not take a cut session for a whole one.
    if (socket.connecting || socket.destroyed) socket.destroy();
    else socket.resetAndDestroy();
  }

  async stop(): Promise<void> {
    for (const session of [...this.sockets.keys()]) this.abort(session);
  }
}
