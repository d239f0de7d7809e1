import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Endpoint } from '@diodesync/cli-kit';
import { openUdp, type BatchSocket, type UdpError } from '@diodesync/native';
import { log } from '../log.js';
import type { ChannelOutlet, OutletCounts } from './channel-outlet.js';

/** Datagrams held while the socket opens (a name to resolve) at most, in bytes: beyond, they are counted as not delivered. */
const MAX_HELD_BYTES = 8 * 1024 * 1024;
/** A full send buffer blocks a native send this long at most (the thread is the receiver's main thread). */
const SEND_TIMEOUT_MS = 50;

/**
 * `--deliver NAME=udp://HOST:PORT`: each datagram re-emitted as it came in on the low side. The
 * datagrams delivered in one turn (a burst of records) go in one sendmmsg (the native addon; one
 * node:dgram send each without it), on a socket connected to the target.
 */
export class UdpOutlet implements ChannelOutlet {
  readonly description: string;
  private socket: BatchSocket | undefined;
  private readonly opened: Promise<void>;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private flushing = false;
  private scratch = Buffer.allocUnsafe(64 * 1024);
  private warned = false;
  private stopped = false;

  constructor(private readonly endpoint: Endpoint, private readonly counts: OutletCounts, private readonly channel: string) {
    this.description = `udp://${endpoint.host}:${endpoint.port}`;
    this.opened = this.connect().catch((err: NodeJS.ErrnoException) => {
      this.counts.deliveryErrors += this.held.length;
      this.held = [];
      this.failed(err.code ?? err.message);
    });
  }

  datagram(data: Buffer): void {
    if (this.stopped) return;
    if (!this.socket && this.heldBytes + data.length > MAX_HELD_BYTES) {
      this.counts.deliveryErrors++;
      return;
    }
    this.held.push(data);
    this.heldBytes += data.length;
    if (this.socket && !this.flushing) {
      this.flushing = true;
      // After the records of this drain of the ring: one system call for all of them.
      process.nextTick(() => this.flush());
    }
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

  async stop(): Promise<void> {
    await this.opened;
    this.flush();
    this.stopped = true;
    await this.socket?.close();
  }

  private async connect(): Promise<void> {
    const { host, port } = this.endpoint;
    const address = isIP(host) ? host : (await lookup(host)).address;
    this.socket = await openUdp({ connect: { address, port }, io: 'mmsg', sndbuf: 4 * 1024 * 1024, sendTimeoutMs: SEND_TIMEOUT_MS });
    this.flush();
  }

  private flush(): void {
    this.flushing = false;
    const socket = this.socket;
    if (!socket || this.held.length === 0 || this.stopped) return;
    const datagrams = this.held;
    const bytes = this.heldBytes;
    this.held = [];
    this.heldBytes = 0;
    if (this.scratch.length < bytes) this.scratch = Buffer.allocUnsafe(Math.max(bytes, this.scratch.length * 2));
    const lengths = new Uint32Array(datagrams.length);
    let at = 0;
    datagrams.forEach((d, i) => {
      d.copy(this.scratch, at);
      at += d.length;
      lengths[i] = d.length;
    });
    try {
      // The buffer is free again once sendBatch returns (node:dgram copies): only a fallback's backpressure is a promise.
      void (socket.sendBatch(this.scratch.subarray(0, bytes), lengths) as Promise<void> | undefined)?.catch((err: Error) => {
        this.counts.deliveryErrors++;
        this.failed(err.message);
      });
    } catch (err) {
      const e = err as UdpError;
      this.counts.deliveryErrors += datagrams.length - (e.sent ?? 0);
      this.failed(e.code ?? e.message);
    }
  }

  private wrongKind(): void {
    this.counts.deliveryErrors++;
    if (this.warned) return;
    this.warned = true;
    log('stream-wrong-outlet', { channel: this.channel, to: this.description, hint: 'this channel carries TCP sessions: deliver it with NAME=tcp://HOST:PORT or NAME=file:DIR' });
  }

  private failed(error: string): void {
    if (this.warned) return;
    this.warned = true;
    log('stream-deliver-failed', { channel: this.channel, to: this.description, error });
  }
}
