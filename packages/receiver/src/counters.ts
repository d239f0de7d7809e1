import type { DropReason } from '@diodesync/protocol';

/** Everything the receiver counts; `status` and the metrics endpoint show these. */
export interface ReceiverCounters {
  framesReceived: number;
  bytesReceived: number;
  /** Bytes discarded while re-aligning a byte stream on the next marker. */
  bytesSkipped: number;
  /** Frames refused by the codec, by reason. */
  framing: Record<DropReason, number>;
  /** With --key-file: frames refused before their payload was read, by reason. */
  auth: Record<'unauthenticated' | 'bad-tag' | 'unencrypted' | 'no-key', number>;
  /** Object headers refused by --max-file-size, --max-files, --min-free. */
  limits: Record<'max-file-size' | 'max-files' | 'min-free', number>;
  /** Frames that decoded but were refused or not needed. */
  badMessage: number;
  badPath: number;
  badChunk: number;
  orphanData: number;
  /** Frames of a sender session older than the newest one (a replay), or not yet known to be newer (session-order.ts). */
  staleSession: number;
  duplicateChunks: number;
  /** Frames whose sequence number had already arrived (another link's copy, or a duplicate): used once, dropped here. */
  duplicateFrames: number;
  queueOverflow: number;
  tooManyPartials: number;
  unsupported: number;
  filesCompleted: number;
  verifyFailed: number;
  writeErrors: number;
  manifests: number;
  partialsRestored: number;
  /** Delete and rename announcements, by what became of them. */
  changes: Record<'deleted' | 'renamed' | 'copied' | 'ignored' | 'refused' | 'absent' | 'differs' | 'failed', number>;
  partialsExpired: number;
  heartbeats: number;
  /** Parity frames for blocks whose data had all arrived: not needed, dropped at once. */
  fecParityUnneeded: number;
  /** Data chunks rebuilt from parity, and the blocks they belonged to. */
  fecRepairedChunks: number;
  fecBlocksRepaired: number;
  /** Rebuilds that failed (read error, codec error); the block waits for the next pass. */
  fecRepairFailed: number;
  /**
   * capture:// and pcap: packets that carried no whole datagram for us: IP fragments (dropped:
   * lower --mtu), cut short (a truncated record, a snap length under the frame), or not UDP to the port;
   * and frames the kernel dropped before the capture socket read them (its buffer was full: raise --rcvbuf).
   */
  capture: Record<'fragments' | 'truncated' | 'ignored' | 'kernelDropped', number>;
}

export function newCounters(): ReceiverCounters {
  return {
    framesReceived: 0, bytesReceived: 0, bytesSkipped: 0,
    framing: { short: 0, magic: 0, 'header-crc': 0, version: 0, type: 0, length: 0, 'payload-crc': 0 },
    auth: { unauthenticated: 0, 'bad-tag': 0, unencrypted: 0, 'no-key': 0 },
    limits: { 'max-file-size': 0, 'max-files': 0, 'min-free': 0 },
    badMessage: 0, badPath: 0, badChunk: 0, orphanData: 0, staleSession: 0, duplicateChunks: 0, duplicateFrames: 0, queueOverflow: 0,
    tooManyPartials: 0, unsupported: 0, filesCompleted: 0, verifyFailed: 0, writeErrors: 0, manifests: 0, partialsRestored: 0, partialsExpired: 0,
    changes: { deleted: 0, renamed: 0, copied: 0, ignored: 0, refused: 0, absent: 0, differs: 0, failed: 0 }, heartbeats: 0,
    fecParityUnneeded: 0, fecRepairedChunks: 0, fecBlocksRepaired: 0, fecRepairFailed: 0,
    capture: { fragments: 0, truncated: 0, ignored: 0, kernelDropped: 0 },
  };
}

/** What a transport counts as it reads (ingest/open-source.ts): the whole receiver's, or one link's. */
export type TransportCounters = Pick<ReceiverCounters, 'framesReceived' | 'bytesReceived' | 'bytesSkipped' | 'framing' | 'queueOverflow' | 'capture'>;
