// Batched UDP datagram I/O: many datagrams per system call (sendmmsg, UDP GSO,
// recvmmsg, UDP GRO) through the addon on Linux; node:dgram behind the same
// interface everywhere else, so that callers have one code path.
import * as dgram from 'node:dgram';
import { isIP } from 'node:net';
import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';
import { binding, nativeIo, type NativeUdpSocket } from './binding.js';

/** How datagrams go: `gso` sendmmsg + UDP_SEGMENT, `mmsg` sendmmsg/recvmmsg, `dgram` node:dgram. */
export type UdpIoMode = 'gso' | 'mmsg' | 'dgram';
/** What a caller (a CLI's `--io`) asks for: the best available (`auto`), or at most this. */
export type UdpIoPreference = 'auto' | UdpIoMode;
export const UDP_IO_PREFERENCES: readonly UdpIoPreference[] = ['auto', 'gso', 'mmsg', 'dgram'];

export interface UdpIo {
  readonly mode: UdpIoMode;
  /** Why this mode (what the kernel lacks, or who asked for less). */
  readonly reason: string;
}

export interface UdpEndpoint {
  /** An IP literal ("192.0.2.1", "::1", "fe80::1%eth0"): resolve names first. */
  address: string;
  port: number;
}

export interface OpenUdpOptions {
  /** 4 or 6; by default that of `connect`, else `bind`, else 4. A v6 socket also reaches v4 peers. */
  family?: 4 | 6;
  /** Where to bind; the wildcard address and a kernel-chosen port by default (the socket is always bound). */
  bind?: { address?: string; port?: number };
  /** The one peer of a sending socket: sends skip the address, and ICMP errors are counted in `refused`. */
  connect?: UdpEndpoint;
  /** SO_SNDBUF / SO_RCVBUF asked for (capped by net.core.wmem_max / rmem_max); `sndbuf`/`rcvbuf` say what was granted. */
  sndbuf?: number;
  rcvbuf?: number;
  reuseAddr?: boolean;
  broadcast?: boolean;
  /** IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS. */
  multicastTtl?: number;
  /** IPv4: the interface's address; IPv6: its name or index ("lo", "::%lo"). */
  multicastInterface?: string;
  multicastLoop?: boolean;
  /** Joins a multicast group (on `interface`, as for multicastInterface; the kernel's choice by default). */
  join?: { group: string; interface?: string };
  /**
   * UDP_GRO: the kernel may hand recvBatch several datagrams of one size in one slot (slots
   * must then hold 65535 bytes: recvBatch refuses smaller ones) and says the size in
   * `segments`. Only with io `gso`; `io.gro` says whether it is on.
   */
  gro?: boolean;
  /** At most this path; DIODESYNC_IO (same values) caps it too. `auto` by default. */
  io?: UdpIoPreference;
  /** How long sendBatch waits for a full send buffer to drain before ETIMEDOUT (native; 5000 ms). */
  sendTimeoutMs?: number;
  /** dgram only: datagrams received and not yet taken by recvBatch, in bytes, beyond which they are dropped (`dropped`). */
  maxQueuedBytes?: number;
}

export interface BatchSocketIo extends UdpIo {
  /** Whether recvBatch may return coalesced datagrams (UDP_GRO on). */
  readonly gro: boolean;
}

/** Node-style system error: code, errno, syscall; from sendBatch also `sent`, the frames that went before it. */
export type UdpError = NodeJS.ErrnoException & { address?: string; port?: number; sent?: number };

export interface BatchSocket {
  /** The path this socket takes now (`gso` can become `mmsg` when the kernel refuses GSO on first use). */
  readonly io: BatchSocketIo;
  readonly family: 4 | 6;
  readonly address: string;
  readonly port: number;
  /** What the kernel granted for SO_SNDBUF / SO_RCVBUF (Linux reports twice the usable size). */
  readonly sndbuf: number;
  readonly rcvbuf: number;
  /** ICMP port unreachable reports from a connected peer: counted, never thrown (normal on a one-way link). */
  readonly refused: number;
  /** dgram only: datagrams dropped because `maxQueuedBytes` were waiting for recvBatch. */
  readonly dropped: number;

  /**
   * Sends `count` datagrams from one buffer, which the caller may reuse as soon as this returns.
   *
   * - `frames` a number (frameSize): frame i is `buffer[i*frameSize, +frameSize)`, the last one
   *   whatever is left of the buffer; `count` defaults to ceil(buffer.length / frameSize).
   * - `frames` a Uint32Array of lengths: frames back to back (or at `offsets[i]`); `count` defaults
   *   to lengths.length.
   *
   * Native: one sendmmsg per up to 1024 datagrams, and with GSO one message per run of up to 64
   * frames of one size (the last of a run may be shorter); waits (blocking the thread) while the
   * send buffer is full, up to `sendTimeoutMs`; returns undefined; failures throw here (`sent` says
   * how many frames went). dgram: copies the frames and hands them to node:dgram; returns a Promise
   * when more than 1024 datagrams are in flight (await it: backpressure); a send failure is thrown
   * by the next sendBatch or flush. `to` is for an unconnected socket only: without it there,
   * or with it on a connected one, EDESTADDRREQ / EISCONN are thrown before anything is sent.
   */
  sendBatch(buffer: Uint8Array, frames: number | Uint32Array, count?: number, to?: UdpEndpoint, offsets?: Uint32Array): Promise<void> | undefined;

  /**
   * Receives up to `maxSlots` datagrams into `ring` (any Uint8Array, a SharedArrayBuffer's too):
   * datagram i into slot `firstSlot + i`, at byte `(firstSlot + i) * slotSize`; its length into
   * `lengths[firstSlot + i]` (above slotSize: it was longer than the slot, and cut); with GRO, the
   * segment size into `segments[firstSlot + i]` when the slot holds several datagrams, else 0 (see
   * forEachDatagram). Returns how many slots were filled; 0 after `timeoutMs` (0: do not wait;
   * -1: wait for ever). Native: returns a number, blocking the thread up to timeoutMs (meant for a
   * reader thread). dgram: a number when datagrams are queued, else a Promise. `await` works for both.
   */
  recvBatch(ring: Uint8Array, slotSize: number, maxSlots: number, lengths: Uint32Array | Int32Array, timeoutMs?: number,
    firstSlot?: number, segments?: Uint32Array | Int32Array): number | Promise<number>;

  /** Resolves when every datagram handed over has gone to the kernel (at once, natively); throws a pending send failure. */
  flush(): Promise<void>;
  /** Closes the socket; a waiting dgram recvBatch resolves 0. Later calls throw EBADF. */
  close(): Promise<void>;
}

const RANK: Record<UdpIoMode, number> = { dgram: 0, mmsg: 1, gso: 2 };

/** `auto`, `gso`, `mmsg` or `dgram` (a CLI's `--io`), or a TypeError. */
export function parseUdpIo(value: string): UdpIoPreference {
  if ((UDP_IO_PREFERENCES as readonly string[]).includes(value)) return value as UdpIoPreference;
  throw new TypeError(`io must be one of ${UDP_IO_PREFERENCES.join(', ')}, not ${JSON.stringify(value)}`);
}

const probe = binding?.udpProbe();

function capability(): UdpIo {
  if (!binding) return { mode: 'dgram', reason: `native addon not used: ${nativeIo.reason}` };
  if (!binding.UdpSocket || !probe?.batch) return { mode: 'dgram', reason: probe?.reason || 'the addon has no UdpSocket' };
  if (!probe.gso) return { mode: 'mmsg', reason: `sendmmsg/recvmmsg, no GSO (${probe.reason})` };
  return { mode: 'gso', reason: 'sendmmsg with UDP_SEGMENT (GSO), recvmmsg' };
}

/**
 * The path openUdp({ io: preferred }) takes: the best this process has (addon loaded, kernel
 * features), lowered to `preferred` and to DIODESYNC_IO when set. Never higher than available.
 */
export function udpIoFor(preferred: UdpIoPreference = 'auto'): UdpIo {
  let io = capability();
  const caps: [UdpIoPreference, string][] = [[parseUdpIo(preferred), `io=${preferred}`]];
  const env = process.env.DIODESYNC_IO;
  if (env) {
    if ((UDP_IO_PREFERENCES as readonly string[]).includes(env)) caps.push([env as UdpIoPreference, `DIODESYNC_IO=${env}`]);
    else io = { ...io, reason: `${io.reason}; DIODESYNC_IO=${JSON.stringify(env)} ignored (not ${UDP_IO_PREFERENCES.join(', ')})` };
  }
  for (const [cap, by] of caps) {
    if (cap !== 'auto' && RANK[cap] < RANK[io.mode]) io = { mode: cap, reason: `${by} asked for (${io.mode} available)` };
  }
  return io;
}

/** The path openUdp takes by default here (DIODESYNC_NATIVE=0 or DIODESYNC_IO=dgram: node:dgram). */
export const udpIo: UdpIo = Object.freeze(udpIoFor('auto'));

/**
 * The datagrams in one slot recvBatch filled: `length` and `segment` its lengths[] and segments[]
 * entries. Calls fn(offset, length) for each (offset from the slot's start), and returns how many.
 * Without GRO (segment 0) that is the one datagram. A cut datagram (length above slotSize) is
 * passed as it was reported: the caller decides (diodesync drops it).
 */
export function forEachDatagram(length: number, segment: number, fn: (offset: number, length: number) => void): number {
  if (segment <= 0 || segment >= length) {
    fn(0, length);
    return 1;
  }
  let n = 0;
  for (let offset = 0; offset < length; offset += segment, n++) fn(offset, Math.min(segment, length - offset));
  return n;
}

/** A native error (errno, syscall, address?, port?, sent?) -> a Node-style one with code. */
function systemError(err: unknown): unknown {
  const e = err as UdpError;
  if (!(e instanceof Error) || typeof e.errno !== 'number' || e.code !== undefined) return err;
  const [code, description] = getSystemErrorMap().get(e.errno) ?? [`E${-e.errno}`, `unknown error ${-e.errno}`];
  const host = e.address === undefined ? '' : e.address.includes(':') ? `[${e.address}]` : e.address;
  const where = e.address === undefined ? '' : ` ${host}${e.port === undefined ? '' : `:${e.port}`}`;
  const out: UdpError = new Error(`${code}: ${description}, ${e.syscall ?? '?'}${where}`);
  out.errno = e.errno;
  out.code = code;
  out.syscall = e.syscall;
  if (e.address !== undefined) out.address = e.address;
  if (e.port !== undefined) out.port = e.port;
  if (e.sent !== undefined) out.sent = e.sent;
  return out;
}

const errnoError = (errno: number, syscall: string): UdpError =>
  systemError(Object.assign(new Error(syscall), { errno: -errno, syscall })) as UdpError;
const closedError = (syscall: string): UdpError => errnoError(constants.errno.EBADF, syscall);

/** One rule on both paths (Linux alone would take `to` on a connected socket; node:dgram would not). */
function checkDestination(connected: boolean, to: UdpEndpoint | undefined): void {
  if (connected && to) throw errnoError(constants.errno.EISCONN, 'sendmmsg');
  if (!connected && !to) throw errnoError(constants.errno.EDESTADDRREQ, 'sendmmsg');
}

function checkAddress(what: string, address: string | undefined): void {
  if (address !== undefined && isIP(address.replace(/%.*$/, '')) === 0) {
    throw new TypeError(`${what} must be an IP address, not ${JSON.stringify(address)} (resolve names first)`);
  }
}

const wholeTimeout = (ms: number | undefined): number =>
  ms === undefined || ms < 0 || ms === Infinity ? -1 : Math.min(Math.ceil(ms), 2 ** 31 - 1);

/**
 * Opens a UDP socket for batched I/O: natively (io `gso` or `mmsg`) where the addon and the
 * kernel allow, else on node:dgram; `socket.io` says which. Addresses are IP literals.
 * Failures throw Node-style errors (EADDRINUSE, EACCES, ...).
 */
export async function openUdp(options: OpenUdpOptions = {}): Promise<BatchSocket> {
  checkAddress('bind.address', options.bind?.address);
  checkAddress('connect.address', options.connect?.address);
  checkAddress('join.group', options.join?.group);
  const hint = options.connect?.address ?? options.bind?.address ?? options.join?.group ?? '';
  const family: 4 | 6 = options.family ?? (isIP(hint.replace(/%.*$/, '')) === 6 ? 6 : 4);
  const io = udpIoFor(options.io ?? 'auto');
  if (io.mode === 'dgram' || !binding?.UdpSocket) return DgramBatchSocket.open(options, family, io);
  let raw: NativeUdpSocket;
  try {
    raw = new binding.UdpSocket({
      family,
      bindAddress: options.bind?.address ?? '',
      bindPort: options.bind?.port ?? 0,
      connectAddress: options.connect?.address,
      connectPort: options.connect?.port,
      reuseAddr: options.reuseAddr ?? false,
      broadcast: options.broadcast ?? false,
      sndbuf: options.sndbuf ?? 0,
      rcvbuf: options.rcvbuf ?? 0,
      multicastTtl: options.multicastTtl ?? -1,
      multicastInterface: options.multicastInterface,
      multicastLoop: options.multicastLoop === undefined ? -1 : options.multicastLoop ? 1 : 0,
      joinGroup: options.join?.group,
      joinInterface: options.join?.interface,
      gso: io.mode === 'gso',
      gro: io.mode === 'gso' && (options.gro ?? false),
      sendTimeoutMs: options.sendTimeoutMs ?? 5000,
    });
  } catch (err) {
    throw systemError(err);
  }
  return new NativeBatchSocket(raw, family, io, options.connect !== undefined);
}

class NativeBatchSocket implements BatchSocket {
  readonly address: string;
  readonly port: number;
  readonly sndbuf: number;
  readonly rcvbuf: number;
  readonly dropped = 0;
  private closed = false;

  constructor(private readonly raw: NativeUdpSocket, readonly family: 4 | 6, private readonly available: UdpIo,
    private readonly connected: boolean) {
    const info = raw.info();
    this.address = info.address;
    this.port = info.port;
    this.sndbuf = info.sndbuf;
    this.rcvbuf = info.rcvbuf;
  }

  get io(): BatchSocketIo {
    const info = this.raw.info();
    if (info.gso) return { mode: 'gso', gro: info.gro, reason: this.available.reason };
    const reason = this.available.mode === 'gso' ? `sendmmsg/recvmmsg, no GSO (${info.gsoReason})` : this.available.reason;
    return { mode: 'mmsg', gro: info.gro, reason };
  }

  get refused(): number {
    return this.raw.info().refused;
  }

  sendBatch(buffer: Uint8Array, frames: number | Uint32Array, count?: number, to?: UdpEndpoint, offsets?: Uint32Array): undefined {
    if (!this.closed) checkDestination(this.connected, to); // once closed, the addon says EBADF
    try {
      if (typeof frames === 'number') {
        const n = count ?? offsets?.length ?? Math.ceil(buffer.length / frames);
        this.raw.sendBatch(buffer, null, frames, n, offsets ?? null, to?.address, to?.port);
      } else {
        this.raw.sendBatch(buffer, frames, 0, count ?? frames.length, offsets ?? null, to?.address, to?.port);
      }
    } catch (err) {
      throw systemError(err);
    }
    return undefined;
  }

  recvBatch(ring: Uint8Array, slotSize: number, maxSlots: number, lengths: Uint32Array | Int32Array, timeoutMs?: number,
    firstSlot = 0, segments?: Uint32Array | Int32Array): number {
    try {
      return this.raw.recvBatch(ring, slotSize, firstSlot, maxSlots, lengths, segments ?? null, wholeTimeout(timeoutMs));
    } catch (err) {
      throw systemError(err);
    }
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
    this.raw.close();
  }
}

/** Datagrams handed to node:dgram and not yet called back, beyond which sendBatch returns a Promise. */
const MAX_IN_FLIGHT = 1024;

interface PendingRecv {
  ring: Uint8Array;
  slotSize: number;
  maxSlots: number;
  lengths: Uint32Array | Int32Array;
  firstSlot: number;
  segments: Uint32Array | Int32Array | undefined;
  resolve(n: number): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
}

/** The same interface on node:dgram: a send per datagram; received datagrams queue until recvBatch copies them into the ring. */
class DgramBatchSocket implements BatchSocket {
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
    return new DgramBatchSocket(socket, family, io, options.connect !== undefined, options.maxQueuedBytes);
  }

  private constructor(private readonly socket: dgram.Socket, readonly family: 4 | 6, io: UdpIo, private readonly connected: boolean,
    maxQueuedBytes: number | undefined) {
    this.io = Object.freeze({ mode: 'dgram', gro: false, reason: io.reason });
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
    p.resolve(this.take(p.ring, p.slotSize, p.maxSlots, p.lengths, p.firstSlot, p.segments));
  };

  private take(ring: Uint8Array, slotSize: number, maxSlots: number, lengths: Uint32Array | Int32Array, firstSlot: number,
    segments: Uint32Array | Int32Array | undefined): number {
    const n = Math.min(maxSlots, this.queue.length - this.head);
    for (let i = 0; i < n; i++) {
      const d = this.queue[this.head]!;
      this.queue[this.head++] = undefined;
      const slot = firstSlot + i;
      ring.set(d.length > slotSize ? d.subarray(0, slotSize) : d, slot * slotSize);
      lengths[slot] = d.length;
      if (segments) segments[slot] = 0;
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
    if (this.pending) throw Object.assign(new Error('recvBatch is already waiting on this socket'), { code: 'EBUSY' });
    if (this.head < this.queue.length) return this.take(ring, slotSize, maxSlots, lengths, firstSlot, segments);
    const timeout = wholeTimeout(timeoutMs);
    if (timeout === 0) return 0;
    return new Promise<number>((resolve, reject) => {
      const p: PendingRecv = { ring, slotSize, maxSlots, lengths, firstSlot, segments, resolve, reject, timer: undefined };
      if (timeout > 0) {
        p.timer = setTimeout(() => {
          if (this.pending === p) this.pending = undefined;
          resolve(0);
        }, timeout);
      }
      this.pending = p;
    });
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
