// capture://: a promiscuous packet socket on one interface, read in batches (src/capture.cc).
// Linux with the addon only; `captureIo` says why not elsewhere, and the receiver then runs
// tcpdump instead.
import { getSystemErrorMap } from 'node:util';
import { binding, nativeIo } from './binding.js';
import { filterWords, udpPortFilter } from './capture-filter.js';

export interface CaptureSocket {
  readonly interface: string;
  /** What the kernel granted for SO_RCVBUF (Linux reports twice the usable size). */
  readonly rcvbuf: number;
  /**
   * Up to `maxSlots` frames into `ring` (slot i at i * slotSize), waiting up to `timeoutMs` when
   * none is queued: the number read. lengths[i] is frame i's length (over slotSize: cut; 0: one
   * this host sent, to skip).
   */
  recvBatch(ring: Uint8Array, slotSize: number, maxSlots: number, lengths: Uint32Array, timeoutMs: number): number;
  /** Frames the kernel dropped since the socket opened because its buffer was full. */
  kernelDrops(): number;
  close(): void;
}

export interface CaptureOptions {
  interface: string;
  /** UDP destination port the kernel filter passes. */
  port: number;
  /** SO_RCVBUF in bytes (0: the kernel's default). */
  rcvbuf: number;
}

/** Whether capture:// can run natively here, and why not. */
export const captureIo: { readonly available: boolean; readonly reason: string } = Object.freeze(
  !nativeIo.available ? { available: false, reason: nativeIo.reason }
    : !binding?.PacketSocket ? { available: false, reason: 'the addon has no packet socket on this system (Linux only)' }
      : { available: true, reason: 'AF_PACKET socket, BPF filter, recvmmsg' },
);

/** A native error -> a Node-style one: code (EPERM, ENODEV, ...), the addon's message kept. */
function named(err: unknown): unknown {
  const e = err as NodeJS.ErrnoException;
  if (!(e instanceof Error) || typeof e.errno !== 'number' || e.code !== undefined) return err;
  e.code = getSystemErrorMap().get(e.errno)?.[0] ?? `E${-e.errno}`;
  return e;
}

/**
 * Opens the packet socket: bound to `interface`, promiscuous while open, filtered to UDP to
 * `port`. Throws EPERM without CAP_NET_RAW, ENODEV for no such interface.
 */
export function openCapture(options: CaptureOptions): CaptureSocket {
  if (!captureIo.available || !binding?.PacketSocket) throw new Error(`capture needs the native addon: ${captureIo.reason}`);
  let raw;
  try {
    raw = new binding.PacketSocket({ interface: options.interface, filter: filterWords(udpPortFilter(options.port)), rcvbuf: options.rcvbuf });
  } catch (err) {
    throw named(err);
  }
  const socket = raw;
  return {
    interface: options.interface,
    rcvbuf: socket.info().rcvbuf,
    recvBatch(ring, slotSize, maxSlots, lengths, timeoutMs) {
      try {
        return socket.recvBatch(ring, slotSize, maxSlots, lengths, timeoutMs);
      } catch (err) {
        throw named(err);
      }
    },
    kernelDrops: () => socket.info().drops,
    close: () => socket.close(),
  };
}
