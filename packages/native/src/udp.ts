// Batched UDP datagram I/O: many datagrams per system call (sendmmsg, UDP GSO,
// recvmmsg, UDP GRO) through the addon on Linux; node:dgram behind the same
// interface everywhere else, so that callers have one code path.
import { isIP } from 'node:net';
import { binding, nativeIo, type NativeUdpSocket } from './binding.js';
import { checkAddress, systemError } from './udp-checks.js';
import { DgramBatchSocket } from './udp-dgram.js';
import { NativeBatchSocket } from './udp-native.js';
import type { BatchSocket, OpenUdpOptions, UdpIo, UdpIoMode, UdpIoPreference } from './udp-types.js';

export type { BatchSocket, BatchSocketIo, OpenUdpOptions, UdpEndpoint, UdpError, UdpIo, UdpIoMode, UdpIoPreference } from './udp-types.js';
export { SPILL_STRIDE } from './udp-types.js';
export const UDP_IO_PREFERENCES: readonly UdpIoPreference[] = ['auto', 'gso', 'mmsg', 'dgram'];

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
      gro: options.gro ?? false, // receiving: recvmmsg with UDP_GRO needs no GSO
      sendTimeoutMs: options.sendTimeoutMs ?? 5000,
    });
  } catch (err) {
    throw systemError(err);
  }
  return new NativeBatchSocket(raw, family, io, options.connect !== undefined);
}
