// The batched socket on the addon: sendmmsg (with UDP GSO) and recvmmsg in one call each.
import type { NativeUdpSocket } from './binding.js';
import { checkDestination, systemError, wholeTimeout } from './udp-checks.js';
import type { BatchSocket, BatchSocketIo, UdpEndpoint, UdpIo } from './udp-types.js';

export class NativeBatchSocket implements BatchSocket {
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
    if (info.gso) return { mode: 'gso', gro: info.gro, groReason: info.groReason, reason: this.available.reason };
    const reason = this.available.mode === 'gso' ? `sendmmsg/recvmmsg, no GSO (${info.gsoReason})` : this.available.reason;
    return { mode: 'mmsg', gro: info.gro, groReason: info.groReason, reason };
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

  recvPacked(ring: Uint8Array, at: number, stride: number, count: number, spill: Uint8Array, lengths: Uint32Array | Int32Array,
    segments: Uint32Array | Int32Array | undefined, firstEntry: number, timeoutMs?: number): number {
    try {
      return this.raw.recvPacked(ring, at, stride, count, spill, lengths, segments ?? null, firstEntry, wholeTimeout(timeoutMs));
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
