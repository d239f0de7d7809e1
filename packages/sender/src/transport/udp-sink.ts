import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { openUdp, type BatchSocket, type UdpError, type UdpIoPreference } from '@diodesync/native';
import { isMulticast } from '@diodesync/cli-kit';
import { TransportError, type FrameSink } from './frame-sink.js';

/** Datagrams per system call: sendmmsg takes up to 1024, but 64 already make the call's cost vanish. */
const BATCH_FRAMES = 64;
/** The largest UDP payload over IPv4. */
const MAX_DATAGRAM = 65_507;
/** The batch buffer: 64 datagrams of the largest size. */
const BATCH_BYTES = BATCH_FRAMES * MAX_DATAGRAM;

export interface UdpOptions {
  sendBufferBytes?: number;
  /** Multicast hops (IP TTL); 1 keeps datagrams on the local segment. */
  ttl?: number;
  /** Local address of the interface multicast leaves by. */
  multicastInterface?: string;
  broadcast?: boolean;
  /** --io: at most this path (gso, mmsg, dgram); the best available by default. */
  io?: UdpIoPreference;
}

/**
 * UDP out, one superframe per datagram, many datagrams per system call. Frames are written
 * into one preallocated buffer by the emitter (`reserve`, `commit`; `send` copies); the batch
 * goes out (sendmmsg, or one UDP GSO send per run of frames of one size) when it holds 64
 * frames, when the rate limiter is about to wait (so a batch is never a bigger burst than the
 * limiter allows), or once the event loop turns (so nothing waits while the sender reads a file). node:dgram, one call per datagram, where the addon or the
 * kernel feature is missing. The socket is connected; an ICMP "port unreachable" is counted, as a
 * diode would ignore it.
 */
export class UdpSink implements FrameSink {
  readonly description: string;
  private readonly buffer = Buffer.allocUnsafe(BATCH_BYTES);
  private readonly lengths = new Uint32Array(BATCH_FRAMES);
  private count = 0;
  private bytes = 0;
  private scheduled = false;
  /** The length of the frame between reserve and commit. */
  private reserved = 0;
  /** Back-pressure of a batch that reserve sent, for commit to hand on. */
  private waiting: Promise<void> | undefined;
  onSubmit: ((bytes: number) => void) | undefined;

  private constructor(private readonly socket: BatchSocket, description: string) {
    this.description = description;
  }

  static async open(host: string, port: number, options: UdpOptions = {}): Promise<UdpSink> {
    const address = isIP(host) ? host : (await lookup(host)).address;
    const multicast = isMulticast(address);
    const socket = await openUdp({
      connect: { address, port }, sndbuf: options.sendBufferBytes ?? 4 * 1024 * 1024, io: options.io,
      broadcast: options.broadcast, ...(multicast && { multicastTtl: options.ttl ?? 1, multicastInterface: options.multicastInterface }),
    });
    return new UdpSink(socket, `udp://${isIP(address) === 6 ? `[${address}]` : address}:${port}`);
  }

  /** The path datagrams take (gso, mmsg, dgram) and why. */
  get io(): { mode: string; reason: string } {
    return this.socket.io;
  }

  get refused(): number {
    return this.socket.refused;
  }

  send(parts: readonly Buffer[]): Promise<void> | undefined {
    let length = 0;
    for (const p of parts) length += p.length;
    let at = this.reserve(length);
    for (const p of parts) at += p.copy(this.buffer, at);
    return this.commit();
  }

  get held(): number {
    return this.bytes;
  }

  /** The batch buffer: frames are written straight into it (see `reserve`). */
  get batch(): Buffer {
    return this.buffer;
  }

  reserve(length: number): number {
    if (length > MAX_DATAGRAM) throw new TransportError('datagram too large for the path: lower --mtu');
    // A full buffer goes first; its back-pressure is handed on by commit.
    if (this.bytes + length > this.buffer.length) this.waiting = this.submit();
    this.reserved = length;
    return this.bytes;
  }

  commit(): Promise<void> | undefined {
    const wait = this.waiting;
    this.waiting = undefined;
    this.bytes += this.reserved;
    this.lengths[this.count++] = this.reserved;
    if (this.count === BATCH_FRAMES) return this.submit() ?? wait;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.submitLater);
    }
    return wait;
  }

  /** Once the event loop turns: nothing waits in the batch while the sender reads a file. */
  private readonly submitLater = (): void => {
    this.scheduled = false;
    void this.submit()?.catch(() => undefined); // a failure shows at the next send or flush
  };

  /** Sends what is batched now. */
  submit(): Promise<void> | undefined {
    if (this.count === 0) return undefined;
    this.onSubmit?.(this.bytes);
    const count = this.count;
    this.count = 0;
    this.bytes = 0;
    try {
      return this.socket.sendBatch(this.buffer, this.lengths, count)?.catch((err: UdpError) => {
        throw transportError(err);
      });
    } catch (err) {
      throw transportError(err as UdpError);
    }
  }

  async flush(): Promise<void> {
    await this.submit();
    await this.socket.flush().catch((err: UdpError) => {
      throw transportError(err);
    });
  }

  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    await this.socket.close();
  }
}

function transportError(err: UdpError): TransportError {
  if (err.code === 'EMSGSIZE') return new TransportError('datagram too large for the path: lower --mtu');
  return new TransportError(`UDP send failed: ${err.code ?? err.message}`);
}
