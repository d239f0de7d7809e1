import * as dgram from 'node:dgram';
import { isIP } from 'node:net';
import type { Endpoint } from '@diodesync/cli-kit';
import { log } from '../log.js';
import type { ChannelOutlet, OutletCounts } from './channel-outlet.js';

/** `--deliver NAME=udp://HOST:PORT`: each datagram re-emitted as it came in on the low side. */
export class UdpOutlet implements ChannelOutlet {
  readonly description: string;
  private readonly socket: dgram.Socket;
  private warned = false;

  constructor(private readonly endpoint: Endpoint, private readonly counts: OutletCounts, private readonly channel: string) {
    this.description = `udp://${endpoint.host}:${endpoint.port}`;
    this.socket = dgram.createSocket(isIP(endpoint.host) === 6 ? 'udp6' : 'udp4');
    // A datagram the target refuses (ICMP port unreachable) is counted, never fatal.
    this.socket.on('error', (err) => this.failed(err.message));
  }

  datagram(data: Buffer): void {
    this.socket.send(data, this.endpoint.port, this.endpoint.host, (err) => err && this.failed(err.message));
  }

  // Sessions come from a tcp-listen:// channel: a udp:// outlet cannot carry their bytes in order.
  open(): void {
    this.wrongKind();
  }
  data(): void {
    this.wrongKind();
  }
  close(): void {}
  abort(): void {}

  stop(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private wrongKind(): void {
    this.counts.deliveryErrors++;
    if (this.warned) return;
    this.warned = true;
    log('stream-wrong-outlet', { channel: this.channel, to: this.description, hint: 'this channel carries TCP sessions: deliver it with NAME=tcp://HOST:PORT or NAME=file:DIR' });
  }

  private failed(error: string): void {
    this.counts.deliveryErrors++;
    if (this.warned) return;
    this.warned = true;
    log('stream-deliver-failed', { channel: this.channel, to: this.description, error });
  }
}
