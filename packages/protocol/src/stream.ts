import { ProtocolError } from './errors.js';
import { FEC_MAX_K, FEC_MAX_M, fecEncode, fecRebuild, fecShardSize } from './fec.js';

/*
 * Pass-through streams (frame type Stream): the payload of each Stream frame is one record,
 * big-endian, so everything about the stream is authenticated (and encrypted) with the frame:
 *
 *   0  u8  kind (StreamKind)            16 u32 session (TCP session of the channel; 0 otherwise)
 *   1  u8  channel name length N        20 f64 sent at (ms since epoch, the sender's clock)
 *   2  u16 FEC index                    28 u32 data length
 *   4  u8  FEC count (parity: k')       32 N   channel name (UTF-8, [A-Za-z0-9_.-])
 *   5  u8  parity count (parity: m')    32+N   data
 *   6  u16 copy span (ms; 0: no copies)
 *   8  u32 sequence, high bits
 *  12  u32 sequence, low bits
 *
 * Sequence numbers count a channel's records from 0 (per sender session), every kind but parity.
 * FEC: a channel's records are grouped in blocks of consecutive sequence numbers, closed by size
 * or by time. A data record's FEC index is its position in its block (so the block starts at
 * sequence - index). A parity record's sequence is the first of its block, its FEC count the
 * block's k' records, its parity count m', its FEC index k' + j, and its data shard j of the
 * Reed-Solomon code (fec.ts) over the block's whole records, each zero-padded to the shard size
 * (the longest record rounded up to 8 bytes). A rebuilt shard is a record followed by padding:
 * the data length says where it ends.
 *
 * A datagram longer than one record can carry (up to 65,507 bytes, over an MTU of 1500) goes as
 * consecutive records: DatagramPart for every piece but the last, Datagram for the last, each
 * with its piece's index in its datagram in the session field (0 for a datagram of one record).
 *
 * Copies (--forward-copies, quiet channels): a record may be sent again, byte for byte, at most
 * "copy span" ms after it was made (the sender's clock, as "sent at"); a receiver waits that long
 * (by the sent-at of later records) before it gives up a hole a copy could still fill.
 */

export const StreamKind = {
  /** One datagram of a UDP channel. */
  Datagram: 1,
  /** A TCP session of the channel starts (no data). */
  Open: 2,
  /** Bytes of a TCP session, in order. */
  Data: 3,
  /** A TCP session ended (no data). */
  Close: 4,
  /** FEC parity over a block of the channel's records. */
  Parity: 5,
  /** A piece of a datagram too long for one record, not its last (which is a Datagram). */
  DatagramPart: 6,
} as const;
export type StreamKind = (typeof StreamKind)[keyof typeof StreamKind];

export interface StreamRecord {
  kind: StreamKind;
  channel: string;
  sequence: number;
  session: number;
  fecIndex: number;
  fecCount: number;
  parityCount: number;
  sentAt: number;
  /** Copies of this record may follow up to this many ms after `sentAt` (0: none). */
  copySpan?: number;
  data: Buffer;
}

export const STREAM_RECORD_FIXED = 32;
/** Where a record's "sent at" lies (f64, big-endian): read without decoding the record (how long it waited on the sender). */
export const STREAM_SENT_AT_OFFSET = 20;
export const MAX_CHANNEL_NAME = 32;
const TWO_32 = 0x1_0000_0000;
const NAME_RE = /^[A-Za-z0-9_.-]+$/;

/** Why a channel name is not usable, or undefined if it is. */
export function channelNameProblem(name: string): string | undefined {
  if (!NAME_RE.test(name)) return 'a channel name is letters, digits, _ . and - only';
  if (name.length > MAX_CHANNEL_NAME) return `a channel name has at most ${MAX_CHANNEL_NAME} characters`;
  return undefined;
}

/** Bytes a record of channel `channel` takes beyond its data. */
export function streamRecordOverhead(channel: string): number {
  return STREAM_RECORD_FIXED + Buffer.byteLength(channel);
}

export function encodeStreamRecord(r: StreamRecord): Buffer {
  // The name straight into the record: no buffer of its own per record (a TCP session makes thousands a second).
  const nameLength = Buffer.byteLength(r.channel, 'utf8');
  const out = Buffer.allocUnsafe(STREAM_RECORD_FIXED + nameLength + r.data.length);
  out[0] = r.kind;
  out[1] = nameLength;
  out.writeUInt16BE(r.fecIndex, 2);
  out[4] = r.fecCount;
  out[5] = r.parityCount;
  out.writeUInt16BE(Math.min(0xffff, r.copySpan ?? 0), 6);
  out.writeUInt32BE(Math.floor(r.sequence / TWO_32), 8);
  out.writeUInt32BE(r.sequence % TWO_32, 12);
  out.writeUInt32BE(r.session >>> 0, 16);
  out.writeDoubleBE(r.sentAt, 20);
  out.writeUInt32BE(r.data.length, 28);
  out.write(r.channel, STREAM_RECORD_FIXED, 'utf8');
  r.data.copy(out, STREAM_RECORD_FIXED + nameLength);
  return out;
}

/**
 * Decodes one record; a bad one throws ProtocolError. `padded`: a shard rebuilt by FEC, where zero
 * padding may follow the record.
 */
export function decodeStreamRecord(buf: Buffer, padded = false): StreamRecord {
  if (buf.length < STREAM_RECORD_FIXED) throw new ProtocolError('stream record: too short');
  const kind = buf[0]!;
  if (kind < StreamKind.Datagram || kind > StreamKind.DatagramPart) throw new ProtocolError('stream record: bad kind');
  const nameLength = buf[1]!;
  const dataLength = buf.readUInt32BE(28);
  const end = STREAM_RECORD_FIXED + nameLength + dataLength;
  if (padded ? end > buf.length : end !== buf.length) throw new ProtocolError('stream record: bad length');
  const channel = buf.toString('utf8', STREAM_RECORD_FIXED, STREAM_RECORD_FIXED + nameLength);
  if (channelNameProblem(channel)) throw new ProtocolError('stream record: bad channel name');
  const r: StreamRecord = {
    kind: kind as StreamKind,
    channel,
    fecIndex: buf.readUInt16BE(2),
    fecCount: buf[4]!,
    parityCount: buf[5]!,
    sequence: buf.readUInt32BE(8) * TWO_32 + buf.readUInt32BE(12),
    session: buf.readUInt32BE(16),
    sentAt: buf.readDoubleBE(20),
    copySpan: buf.readUInt16BE(6),
    data: buf.subarray(STREAM_RECORD_FIXED + nameLength, end),
  };
  if (!Number.isSafeInteger(r.sequence)) throw new ProtocolError('stream record: bad sequence');
  if (r.kind === StreamKind.Parity) {
    const { fecCount: k, parityCount: m, fecIndex } = r;
    if (k < 1 || k > FEC_MAX_K || m < 1 || m > FEC_MAX_M || fecIndex < k || fecIndex >= k + m) throw new ProtocolError('stream record: bad parity layout');
    if (r.data.length === 0 || r.data.length % 8 !== 0) throw new ProtocolError('stream record: bad parity shard');
  } else {
    if (r.fecIndex >= FEC_MAX_K || r.fecIndex > r.sequence || r.fecCount !== 0 || r.parityCount !== 0) throw new ProtocolError('stream record: bad FEC index');
    if ((r.kind === StreamKind.Open || r.kind === StreamKind.Close) && r.data.length > 0) throw new ProtocolError('stream record: open/close with data');
    if (r.kind === StreamKind.DatagramPart && r.data.length === 0) throw new ProtocolError('stream record: empty datagram piece');
  }
  return r;
}

/** Parity shards for a block of encoded records (the payloads of its data frames). Runs in the thread pool. */
export async function streamBlockParity(records: readonly Buffer[], parityCount: number): Promise<Buffer[]> {
  const shardSize = fecShardSize(Math.max(...records.map((r) => r.length)));
  return fecEncode(records, parityCount, shardSize);
}

/**
 * Rebuilds the missing records of a block from those present and its parity shards (all of one
 * size); returns them by position, decoded. At least k' shards in all must be present.
 */
export async function rebuildStreamBlock(
  records: readonly (Buffer | undefined)[],
  parity: readonly (Buffer | undefined)[],
): Promise<Map<number, StreamRecord>> {
  const shardSize = parity.find((p) => p)?.length;
  if (shardSize === undefined) throw new RangeError('no parity to rebuild from');
  const rebuilt = await fecRebuild(records, parity, shardSize);
  const out = new Map<number, StreamRecord>();
  for (const [i, shard] of rebuilt) out.set(i, decodeStreamRecord(shard, true));
  return out;
}
