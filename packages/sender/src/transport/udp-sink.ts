import * as dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { isMulticast } from '@diodesync/cli-kit';
import { TransportError, type FrameSink } from './frame-sink.js';

const MAX_IN_FLIGHT = 512;

export interface UdpOptions {
  sendBufferBytes?: number;
  /** Multicast hops (IP TTL); 1 keeps datagrams on the local segment. */
  ttl?: number;
  /** Local address of the interface multicast leaves by. */
  multicastInterface?: string;
  broadcast?: boolean;
}

/**
 * UDP out, one superframe per datagram. The socket is connected so that sends skip the
 * address lookup; the ICMP "port unreachable" this may report is ignored, as a diode would.
 */
export class UdpSink implements FrameSink {
  readonly description: string;
  refused = 0;
  private inFlight = 0;
  private waiter: (() => void) | undefined;
  private drained: (() => void) | undefined;
  private failure: Error | undefined;

  private constructor(private readonly socket: dgram.Socket, description: string) {
    this.description = description;
    socket.on('error', (err) => this.onError(err));
  }

  static async open(host: string, port: number, options: UdpOptions = {}): Promise<UdpSink> {
    const address = isIP(host) ? host : (await lookup(host)).address;
    const socket = dgram.createSocket({ type: isIP(address) === 6 ? 'udp6' : 'udp4', sendBufferSize: options.sendBufferBytes ?? 4 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, () => {
        if (options.broadcast) socket.setBroadcast(true);
        if (isMulticast(address)) {
          socket.setMulticastTTL(options.ttl ?? 1);
          if (options.multicastInterface) socket.setMulticastInterface(options.multicastInterface);
        }
        socket.connect(port, address, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    });
    return new UdpSink(socket, `udp://${isIP(address) === 6 ? `[${address}]` : address}:${port}`);
  }

  send(parts: readonly Buffer[]): Promise<void> | undefined {
    if (this.failure) throw this.failure;
    this.inFlight++;
    this.socket.send(parts as Buffer[], this.onSent);
    if (this.inFlight < MAX_IN_FLIGHT) return undefined;
    return new Promise((resolve) => (this.waiter = resolve));
  }

  /** Nobody listening (ICMP port unreachable) is normal on a one-way link: count it, carry on. */
  private onError(err: Error): void {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED') this.refused++;
    else if (code === 'EMSGSIZE') this.fail(new TransportError('datagram too large for the path: lower --mtu'));
    else this.fail(new TransportError(`UDP send failed: ${code ?? err.message}`));
  }

  private readonly onSent = (err: Error | null): void => {
    this.inFlight--;
    if (err) this.onError(err);
    if (this.waiter && this.inFlight < MAX_IN_FLIGHT / 2) {
      const w = this.waiter;
      this.waiter = undefined;
      w();
    }
    if (this.drained && this.inFlight === 0) {
      const d = this.drained;
      this.drained = undefined;
      d();
    }
  };

  private fail(err: Error): void {
    this.failure ??= err;
  }

  async flush(): Promise<void> {
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}
