// The batched socket on node:dgram: the same interface where the addon or a kernel feature is missing.
import * as dgram from 'node:dgram';
import { checkDestination, closedError, wholeTimeout } from './udp-checks.js';
import { SPILL_STRIDE, type BatchSocket, type BatchSocketIo, type OpenUdpOptions, type UdpEndpoint, type UdpIo } from './udp-types.js';

const MAX_IN_FLIGHT = 1024;

interface PendingRecv {
  /** Copies queued datagrams into the waiting caller's memory; returns how many. */
  take(): number;
  resolve(n: number): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
}

/** The same interface on node:dgram: a send per datagram; received datagrams queue until recvBatch copies them into the ring. */
export class DgramBatchSocket implements BatchSocket {
  refused = 0;
  dropped = 0;
  readonly address: string;
  readonly port: number;
  readonly sndbuf: number;
  readonly rcvbuf: number;
  readonly io: BatchSocketIo;
  private closed = false;
  private failure: Error | undefined;
  private inFlight = 0;
  private waiter: (() => void) | undefined;
  private drained: (() => void) | undefined;
  private queue: (Buffer | undefined)[] = [];
  private head = 0;
  private queuedBytes = 0;
  private readonly maxQueuedBytes: number;
  private pending: PendingRecv | undefined;
  private wakeScheduled = false;

  static async open(options: OpenUdpOptions, family: 4 | 6, io: UdpIo): Promise<DgramBatchSocket> {
    const socket = dgram.createSocket({
      type: family === 6 ? 'udp6' : 'udp4',
      reuseAddr: options.reuseAddr ?? false,
      ...(options.rcvbuf ? { recvBufferSize: options.rcvbuf } : {}),
      ...(options.sndbuf ? { sendBufferSize: options.sndbuf } : {}),
    });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ address: options.bind?.address, port: options.bind?.port ?? 0 }, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      if (options.broadcast) socket.setBroadcast(true);
      if (options.multicastTtl !== undefined) socket.setMulticastTTL(options.multicastTtl);
      if (options.multicastLoop !== undefined) socket.setMulticastLoopback(options.multicastLoop);
      if (options.multicastInterface) socket.setMulticastInterface(options.multicastInterface);
      if (options.join) socket.addMembership(options.join.group, options.join.interface);
      const peer = options.connect;
      if (peer) {
        await new Promise<void>((resolve, reject) => {
          socket.once('error', reject);
          socket.connect(peer.port, peer.address, () => {
            socket.off('error', reject);
            resolve();
          });
        });
      }
    } catch (err) {
      socket.close();
      throw err;
    }
    return new DgramBatchSocket(socket, family, io, options.connect !== undefined, options.maxQueuedBytes, options);
  }

  private constructor(private readonly socket: dgram.Socket, readonly family: 4 | 6, io: UdpIo, private readonly connected: boolean,
    maxQueuedBytes: number | undefined, options: OpenUdpOptions) {
    this.io = Object.freeze({ mode: 'dgram', gro: false, groReason: options.gro ? `node:dgram has no GRO (${io.reason})` : 'not asked for', reason: io.reason });
    const local = socket.address();
    this.address = local.address;
    this.port = local.port;
    this.sndbuf = socket.getSendBufferSize();
    this.rcvbuf = socket.getRecvBufferSize();
    this.maxQueuedBytes = maxQueuedBytes ?? Math.max(this.rcvbuf, 1 << 20);
    socket.on('error', (err) => this.onError(err));
    socket.on('message', (datagram) => this.onMessage(datagram));
  }

  private onError(err: Error): void {
    if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') {
      this.refused++;
      return;
    }
    this.failure ??= err;
    const p = this.pending;
    if (p) {
      this.pending = undefined;
      clearTimeout(p.timer);
      p.reject(err);
    }
  }

  private readonly onSent = (err: Error | null): void => {
    this.inFlight--;
    if (err) this.onError(err);
    if (this.waiter && this.inFlight <= MAX_IN_FLIGHT / 2) {
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

  private check(syscall: string): void {
    if (this.closed) throw closedError(syscall);
    if (this.failure) throw this.failure;
  }

  sendBatch(buffer: Uint8Array, frames: number | Uint32Array, count?: number, to?: UdpEndpoint, offsets?: Uint32Array): Promise<void> | undefined {
    this.check('sendmmsg');
    checkDestination(this.connected, to);
    // Where each frame is, checked as the addon checks it, before anything goes.
    const lengths = typeof frames === 'number' ? undefined : frames;
    const frameSize = typeof frames === 'number' ? frames : 0;
    const n = count ?? lengths?.length ?? offsets?.length ?? Math.ceil(buffer.length / frameSize);
    if (!Number.isInteger(n) || n < 0) throw new RangeError('count is out of range');
    if (!lengths && (!Number.isInteger(frameSize) || frameSize < 1 || frameSize > 65535)) {
      throw new RangeError('frameSize must be at least 1 without lengths');
    }
    if ((lengths && lengths.length < n) || (offsets && offsets.length < n)) {
      throw new RangeError('lengths and offsets must hold count entries');
    }
    const starts = new Array<number>(n);
    const sizes = new Array<number>(n);
    let total = 0;
    for (let i = 0, next = 0; i < n; i++) {
      const off = offsets ? offsets[i]! : lengths ? next : i * frameSize;
      const len = lengths ? lengths[i]! : offsets ? frameSize : Math.min(frameSize, buffer.length - off);
      if (!lengths && !offsets && len <= 0) throw new RangeError('count * frameSize is beyond the end of the buffer');
      if (off + len > buffer.length) throw new RangeError(`frame ${i} is beyond the end of the buffer`);
      starts[i] = off;
      sizes[i] = len;
      next = off + len;
      total += len;
    }
    // node:dgram may hold the bytes until its callback: a copy, so that the caller's buffer is free at once.
    const copy = Buffer.allocUnsafe(total);
    for (let i = 0, at = 0; i < n; i++) {
      copy.set(buffer.subarray(starts[i]!, starts[i]! + sizes[i]!), at);
      this.inFlight++;
      if (to) this.socket.send(copy, at, sizes[i]!, to.port, to.address, this.onSent);
      else this.socket.send(copy, at, sizes[i]!, this.onSent);
      at += sizes[i]!;
    }
    if (this.inFlight <= MAX_IN_FLIGHT) return undefined;
    return new Promise((resolve) => (this.waiter = resolve));
  }

  private onMessage(datagram: Buffer): void {
    if (this.queuedBytes + datagram.length > this.maxQueuedBytes) {
      this.dropped++;
      return;
    }
    this.queue.push(datagram);
    this.queuedBytes += datagram.length;
    // All that this turn of the event loop brings goes to the waiting recvBatch at once.
    if (this.pending && !this.wakeScheduled) {
      this.wakeScheduled = true;
      setImmediate(this.wake);
    }
  }

  private readonly wake = (): void => {
    this.wakeScheduled = false;
    const p = this.pending;
    if (!p || this.head === this.queue.length) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    p.resolve(p.take());
  };

  /** Hands up to `max` queued datagrams to `put(i, datagram)`, oldest first; returns how many. */
  private take(max: number, put: (i: number, datagram: Buffer) => void): number {
    const n = Math.min(max, this.queue.length - this.head);
    for (let i = 0; i < n; i++) {
      const d = this.queue[this.head]!;
      this.queue[this.head++] = undefined;
      put(i, d);
      this.queuedBytes -= d.length;
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return n;
  }

  /** Takes what is queued at once, else waits (up to timeoutMs) for the next turn that brings datagrams. */
  private receive(timeoutMs: number | undefined, take: () => number): number | Promise<number> {
    if (this.pending) throw Object.assign(new Error('recvBatch is already waiting on this socket'), { code: 'EBUSY' });
    if (this.head < this.queue.length) return take();
    const timeout = wholeTimeout(timeoutMs);
    if (timeout === 0) return 0;
    return new Promise<number>((resolve, reject) => {
      const p: PendingRecv = { take, resolve, reject, timer: undefined };
      if (timeout > 0) {
        p.timer = setTimeout(() => {
          if (this.pending === p) this.pending = undefined;
          resolve(0);
        }, timeout);
      }
      this.pending = p;
    });
  }

  recvBatch(ring: Uint8Array, slotSize: number, maxSlots: number, lengths: Uint32Array | Int32Array, timeoutMs?: number,
    firstSlot = 0, segments?: Uint32Array | Int32Array): number | Promise<number> {
    this.check('recvmmsg');
    for (const [name, v, min] of [['slotSize', slotSize, 1], ['maxSlots', maxSlots, 1], ['firstSlot', firstSlot, 0]] as const) {
      if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} is out of range`);
    }
    const end = firstSlot + maxSlots;
    if (end * slotSize > ring.length) throw new RangeError('(firstSlot + maxSlots) * slotSize is beyond the end of the ring');
    if (lengths.length < end || (segments && segments.length < end)) {
      throw new RangeError('lengths and segments must hold firstSlot + maxSlots entries');
    }
    return this.receive(timeoutMs, () => this.take(maxSlots, (i, d) => {
      const slot = firstSlot + i;
      ring.set(d.length > slotSize ? d.subarray(0, slotSize) : d, slot * slotSize);
      lengths[slot] = d.length;
      if (segments) segments[slot] = 0;
    }));
  }

  recvPacked(ring: Uint8Array, at: number, stride: number, count: number, spill: Uint8Array, lengths: Uint32Array | Int32Array,
    segments: Uint32Array | Int32Array | undefined, firstEntry: number, timeoutMs?: number): number | Promise<number> {
    this.check('recvmmsg');
    for (const [name, v, min, max] of [['at', at, 0, Infinity], ['stride', stride, 1, SPILL_STRIDE], ['count', count, 1, Infinity],
      ['firstEntry', firstEntry, 0, Infinity]] as const) {
      if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${name} is out of range`);
    }
    const n = Math.min(count, 1024);
    if (at + n * stride > ring.length) throw new RangeError('at + count * stride is beyond the end of the ring');
    if (n * SPILL_STRIDE > spill.length) throw new RangeError('spill must hold count * 65536 bytes');
    if (lengths.length < firstEntry + n || (segments && segments.length < firstEntry + n)) {
      throw new RangeError('lengths and segments must hold firstEntry + count entries');
    }
    return this.receive(timeoutMs, () => this.take(n, (i, d) => {
      const head = Math.min(d.length, stride);
      ring.set(d.subarray(0, head), at + i * stride);
      if (d.length > stride) spill.set(d.subarray(stride, SPILL_STRIDE), i * SPILL_STRIDE + stride);
      lengths[firstEntry + i] = d.length;
      if (segments) segments[firstEntry + i] = 0;
    }));
  }

  async flush(): Promise<void> {
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flush().catch(() => undefined);
    const p = this.pending;
    if (p) {
      this.pending = undefined;
      clearTimeout(p.timer);
      p.resolve(0);
    }
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}
