import { crc32 } from './crc.js';
import { FLAG_AUTHENTICATED, FrameType, HEADER_SIZE, MAGIC, TAG_SIZE, MAX_PAYLOAD, PROTOCOL_VERSION, isFrameType } from './constants.js';

/*
 * Superframe header, big-endian, 48 bytes:
 *
 *   0  u32 marker (MAGIC)          24 u32 object id
 *   4  u8  version                 28 u32 chunk index (parity: block index)
 *   5  u8  frame type              32 u8  FEC K (data frames per block, 0 = no FEC)
 *   6  u16 flags                   33 u8  FEC M (parity frames per block)
 *   8  u32 payload length          34 u16 FEC index within the block
 *  12  u32 session id              36 u16 pass number (1-based redundancy pass)
 *  16  u32 sequence, high bits     38 u16 reserved, zero
 *  20  u32 sequence, low bits      40 u32 CRC-32 of the payload
 *                                  44 u32 CRC-32 of bytes 0..43
 *
 * Flags: bit 0, a 16-byte tag follows the payload; bit 1, the payload is encrypted (auth.ts).
 */

export interface FrameFields {
  type: FrameType;
  flags?: number;
  sessionId: number;
  sequence: number;
  objectId?: number;
  chunkIndex?: number;
  fecK?: number;
  fecM?: number;
  fecIndex?: number;
  pass?: number;
}

export interface FrameHeader extends Required<FrameFields> {
  payloadLength: number;
  payloadCrc: number;
}

export interface Frame {
  header: FrameHeader;
  payload: Buffer;
  /** With FLAG_AUTHENTICATED: the tag that followed the payload, and the header and payload bytes it covers. */
  tag?: Buffer;
  signed?: Buffer;
}

/** Why a frame was dropped; each reason has its own counter at the receiver. */
export type DropReason = 'short' | 'magic' | 'header-crc' | 'version' | 'type' | 'length' | 'payload-crc';

export type HeaderResult = { ok: true; header: FrameHeader } | { ok: false; reason: DropReason };
export type FrameResult = { ok: true; frame: Frame } | { ok: false; reason: DropReason };

const TWO_32 = 0x1_0000_0000;

/** Builds the 48-byte header for `payload`; send it followed by the payload. */
export function encodeHeader(fields: FrameFields, payload: Uint8Array): Buffer {
  const header = Buffer.allocUnsafe(HEADER_SIZE);
  writeHeader(header, 0, fields, payload);
  return header;
}

/** Header and payload in one buffer, for transports that want a single write. */
export function encodeFrame(fields: FrameFields, payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_SIZE + payload.length);
  writeHeader(frame, 0, fields, payload);
  frame.set(payload, HEADER_SIZE);
  return frame;
}

function writeHeader(target: Buffer, at: number, f: FrameFields, payload: Uint8Array): void {
  if (payload.length > MAX_PAYLOAD) throw new RangeError(`payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD}`);
  MAGIC.copy(target, at);
  target[at + 4] = PROTOCOL_VERSION;
  target[at + 5] = f.type;
  target.writeUInt16BE(f.flags ?? 0, at + 6);
  target.writeUInt32BE(payload.length, at + 8);
  target.writeUInt32BE(f.sessionId >>> 0, at + 12);
  target.writeUInt32BE(Math.floor(f.sequence / TWO_32), at + 16);
  target.writeUInt32BE(f.sequence % TWO_32, at + 20);
  target.writeUInt32BE(f.objectId ?? 0, at + 24);
  target.writeUInt32BE(f.chunkIndex ?? 0, at + 28);
  target[at + 32] = f.fecK ?? 0;
  target[at + 33] = f.fecM ?? 0;
  target.writeUInt16BE(f.fecIndex ?? 0, at + 34);
  target.writeUInt16BE(f.pass ?? 0, at + 36);
  target.writeUInt16BE(0, at + 38);
  target.writeUInt32BE(crc32(payload), at + 40);
  target.writeUInt32BE(crc32(target.subarray(at, at + 44)), at + 44);
}

/**
 * Validates the header at `at` without trusting anything before its CRC is checked.
 * The caller must have made sure `HEADER_SIZE` bytes are available.
 */
export function readHeader(buf: Buffer, at = 0): HeaderResult {
  if (buf.length - at < HEADER_SIZE) return { ok: false, reason: 'short' };
  if (buf.readUInt32BE(at) !== MAGIC.readUInt32BE(0)) return { ok: false, reason: 'magic' };
  if (buf.readUInt32BE(at + 44) !== crc32(buf.subarray(at, at + 44))) return { ok: false, reason: 'header-crc' };
  if (buf[at + 4] !== PROTOCOL_VERSION) return { ok: false, reason: 'version' };
  const type = buf[at + 5]!;
  if (!isFrameType(type)) return { ok: false, reason: 'type' };
  const payloadLength = buf.readUInt32BE(at + 8);
  if (payloadLength > MAX_PAYLOAD) return { ok: false, reason: 'length' };
  return {
    ok: true,
    header: {
      type,
      flags: buf.readUInt16BE(at + 6),
      payloadLength,
      sessionId: buf.readUInt32BE(at + 12),
      sequence: buf.readUInt32BE(at + 16) * TWO_32 + buf.readUInt32BE(at + 20),
      objectId: buf.readUInt32BE(at + 24),
      chunkIndex: buf.readUInt32BE(at + 28),
      fecK: buf[at + 32]!,
      fecM: buf[at + 33]!,
      fecIndex: buf.readUInt16BE(at + 34),
      pass: buf.readUInt16BE(at + 36),
      payloadCrc: buf.readUInt32BE(at + 40),
    },
  };
}

/** Bytes the whole frame takes on the wire: header, payload and, if flagged, the tag. */
export function frameLength(header: FrameHeader): number {
  return HEADER_SIZE + header.payloadLength + (header.flags & FLAG_AUTHENTICATED ? TAG_SIZE : 0);
}

/** Frame from a validated header at `at` in `buf`, which holds all frameLength(header) bytes. */
export function frameAt(buf: Buffer, at: number, header: FrameHeader): Frame {
  const end = at + HEADER_SIZE + header.payloadLength;
  const frame: Frame = { header, payload: buf.subarray(at + HEADER_SIZE, end) };
  if (header.flags & FLAG_AUTHENTICATED) {
    frame.signed = buf.subarray(at, end);
    frame.tag = buf.subarray(end, end + TAG_SIZE);
  }
  return frame;
}

/** Checks the payload against the CRC its (already validated) header carries. */
export function payloadMatches(header: FrameHeader, payload: Uint8Array): boolean {
  return payload.length === header.payloadLength && crc32(payload) === header.payloadCrc;
}

/** Decodes one datagram that must hold exactly one superframe. */
export function decodeDatagram(datagram: Buffer): FrameResult {
  const head = readHeader(datagram, 0);
  if (!head.ok) return head;
  if (datagram.length !== frameLength(head.header)) return { ok: false, reason: 'length' };
  const frame = frameAt(datagram, 0, head.header);
  if (!payloadMatches(head.header, frame.payload)) return { ok: false, reason: 'payload-crc' };
  return { ok: true, frame };
}
