import * as net from 'node:net';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { TransportError, type FrameSink } from './frame-sink.js';

/** Frames per write: as for UDP, 64 make the per-write cost vanish. */
const BATCH_FRAMES = 64;
/** Frames are built in slabs of this size; a written batch keeps its part of the slab until the stream is done with it. */
const SLAB_BYTES = 1024 * 1024;

/**
 * Frames back to back on a byte stream (stdout, a pipe, a serial device). The receiver
 * re-aligns on the marker, so nothing but the frames themselves goes on the stream.
 * Frames are written by the emitter into a slab (`reserve`, `commit`; `send` copies) and leave
 * in one write per batch: when it holds 64 frames, when the rate limiter is about to wait
 * (`submit`), or once the event loop turns. The stream keeps a reference to what it was given,
 * so a batch is never overwritten: the next one starts where it ended, and a full slab is
 * replaced, not reused.
 */
export class StreamSink implements FrameSink {
  private slab = Buffer.allocUnsafe(SLAB_BYTES);
  /** The batch being built: slab[start, end). */
  private start = 0;
  private end = 0;
  private frames = 0;
  private reserved = 0;
  private waiting: Promise<void> | undefined;
  private scheduled = false;
  private failure: Error | undefined;

  constructor(private stream: Writable, readonly description: string) {
    this.watch(stream);
  }

  protected watch(stream: Writable): void {
    stream.on('error', (err) => (this.failure ??= err));
  }

  protected replace(stream: Writable): void {
    this.stream = stream;
    this.failure = undefined;
    this.watch(stream);
  }

  protected get broken(): Error | undefined {
    return this.failure ?? (this.stream.destroyed ? new Error('stream closed') : undefined);
  }

  get batch(): Buffer {
    return this.slab;
  }

  send(parts: readonly Buffer[]): Promise<void> | undefined {
    let length = 0;
    for (const p of parts) length += p.length;
    let at = this.reserve(length);
    for (const p of parts) at += p.copy(this.slab, at);
    return this.commit();
  }

  reserve(length: number): number {
    if (this.end + length > this.slab.length) {
      this.waiting = this.submit();
      this.slab = Buffer.allocUnsafe(Math.max(SLAB_BYTES, length));
      this.start = this.end = 0;
    }
    this.reserved = length;
    return this.end;
  }

  commit(): Promise<void> | undefined {
    const wait = this.waiting;
    this.waiting = undefined;
    this.end += this.reserved;
    this.frames++;
    // A broken stream shows at once: the TCP sink waits here while it reconnects.
    const broken = this.broken;
    if (broken) {
      this.start = this.end;
      this.frames = 0;
      return this.onBroken(broken);
    }
    if (this.frames === BATCH_FRAMES) return this.submit() ?? wait;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.submitLater);
    }
    return wait;
  }

  /** Writes the batch built so far, in one write; a promise while the stream is full. */
  submit(): Promise<void> | undefined {
    if (this.end === this.start) return undefined;
    const batch = this.slab.subarray(this.start, this.end);
    this.start = this.end;
    this.frames = 0;
    const broken = this.broken;
    if (broken) return this.onBroken(broken);
    if (this.stream.write(batch)) return undefined;
    return this.drained();
  }

  private readonly submitLater = (): void => {
    this.scheduled = false;
    try {
      void this.submit()?.catch(() => undefined); // a failure shows at the next send or flush
    } catch {
      // the same
    }
  };

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.stream.off('drain', done);
        this.stream.off('close', done);
        resolve();
      };
      this.stream.once('drain', done);
      this.stream.once('close', done);
    });
  }

  protected onBroken(err: Error): Promise<void> | undefined {
    throw new TransportError(`${this.description}: ${err.message}`);
  }

  async flush(): Promise<void> {
    await this.submit();
    if (this.stream.writableNeedDrain) await new Promise((resolve) => this.stream.once('drain', resolve));
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    await new Promise<void>((resolve) => this.stream.end(() => resolve()));
  }
}

/** stdout as the transport: logs already go to stderr, so stdout carries frames only. */
export function stdoutSink(): StreamSink {
  return new StreamSink(process.stdout, '-');
}

export interface TcpOptions {
  /** Connection attempts before giving up (Infinity for a service that must keep going). */
  maxAttempts: number;
  onReconnect: (attempt: number, error: string) => void;
  /** Stops the first connection's retries (one of several links, still connecting when the run ends). */
  signal?: AbortSignal;
}

/**
 * TCP client of a diode appliance's low-side port. When the connection drops, sending
 * waits while it reconnects with exponential backoff; the frame in flight may be cut,
 * which the receiver's deframer survives.
 */
export class TcpSink extends StreamSink {
  private reconnecting: Promise<void> | undefined;
  private closed = false;

  private constructor(
    socket: net.Socket,
    private readonly host: string,
    private readonly port: number,
    private readonly options: TcpOptions,
  ) {
    super(socket, `tcp://${net.isIPv6(host) ? `[${host}]` : host}:${port}`);
  }

  /** Connects, retrying with backoff: the appliance may come up after the sender. */
  static async open(host: string, port: number, options: TcpOptions): Promise<TcpSink> {
    for (let attempt = 1; ; attempt++) {
      try {
        const socket = await connect(host, port);
        if (options.signal?.aborted) socket.destroy();
        else return new TcpSink(socket, host, port, options);
      } catch (err) {
        if (attempt > options.maxAttempts) throw err;
        options.onReconnect(attempt, (err as Error).message);
      }
      options.signal?.throwIfAborted();
      await sleep(backoffMs(attempt), undefined, { signal: options.signal });
    }
  }

  protected override onBroken(err: Error): Promise<void> {
    this.reconnecting ??= this.reconnect(err).finally(() => (this.reconnecting = undefined));
    return this.reconnecting;
  }

  private async reconnect(cause: Error): Promise<void> {
    let error = cause.message;
    for (let attempt = 1; !this.closed; attempt++) {
      if (attempt > this.options.maxAttempts) throw new TransportError(`connection to ${this.description} lost: ${error}`);
      this.options.onReconnect(attempt, error);
      await sleep(backoffMs(attempt));
      try {
        this.replace(await connect(this.host, this.port));
        return;
      } catch (err) {
        error = (err as Error).message;
      }
    }
  }

  override async close(): Promise<void> {
    this.closed = true;
    await super.close();
  }
}

/** 250 ms doubling to 30 s. */
function backoffMs(attempt: number): number {
  return Math.min(30_000, 250 * 2 ** Math.min(attempt - 1, 7));
}

function connect(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}
