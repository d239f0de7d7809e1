// The batched UDP interface (see udp.ts): what a caller sees, whichever path runs.

/** How datagrams go: `gso` sendmmsg + UDP_SEGMENT, `mmsg` sendmmsg/recvmmsg, `dgram` node:dgram. */
export type UdpIoMode = 'gso' | 'mmsg' | 'dgram';
/** What a caller (a CLI's `--io`) asks for: the best available (`auto`), or at most this. */
export type UdpIoPreference = 'auto' | UdpIoMode;

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
   * `segments`. Natively only (io `gso` or `mmsg`); `io.gro` says whether it is on, `io.groReason` why not.
   */
  gro?: boolean;
  /** At most this path; DIODESYNC_IO (same values) caps it too. `auto` by default. */
  io?: UdpIoPreference;
  /** How long sendBatch waits for a full send buffer to drain before ETIMEDOUT (native; 5000 ms). */
  sendTimeoutMs?: number;
  /** dgram only: datagrams received and not yet taken by recvBatch, in bytes, beyond which they are dropped (`dropped`). */
  maxQueuedBytes?: number;
}

/** recvPacked: the room of one datagram, its part in the ring and its part in the spill together. */
export const SPILL_STRIDE = 65_536;

export interface BatchSocketIo extends UdpIo {
  /** Whether recvBatch may return coalesced datagrams (UDP_GRO on). */
  readonly gro: boolean;
  /** Why GRO is on or off (`UDP_GRO`, `not asked for`, what the kernel or the path lacks). */
  readonly groReason: string;
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

  /**
   * Receives up to `count` datagrams packed at `stride` bytes: datagram i's first `stride` bytes
   * at `ring[at + i * stride]`, the rest (when it is longer) at `spill[i * SPILL_STRIDE + stride]`,
   * so that nothing is cut whatever the stride (`spill` holds count * SPILL_STRIDE bytes). Its
   * length into `lengths[firstEntry + i]`, its GRO segment size (or 0) into `segments[firstEntry + i]`.
   * Returns and waits as recvBatch.
   */
  recvPacked(ring: Uint8Array, at: number, stride: number, count: number, spill: Uint8Array, lengths: Uint32Array | Int32Array,
    segments: Uint32Array | Int32Array | undefined, firstEntry: number, timeoutMs?: number): number | Promise<number>;

  /** Resolves when every datagram handed over has gone to the kernel (at once, natively); throws a pending send failure. */
  flush(): Promise<void>;
  /** Closes the socket; a waiting dgram recvBatch resolves 0. Later calls throw EBADF. */
  close(): Promise<void>;
}
