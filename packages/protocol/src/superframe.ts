import { crc32, crc32Range } from './crc.js';
import { FLAG_AUTHENTICATED, FrameType, HEADER_LAYOUT as H, HEADER_SIZE, MAGIC, TAG_SIZE, MAX_PAYLOAD, PROTOCOL_VERSION, isFrameType } from './constants.js';

/*
 * Superframe header, big-endian, 48 bytes (offsets and sizes: HEADER_LAYOUT in constants.ts):
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
 * FEC fields (see fec.ts): frames of an object sent with FEC carry its nominal layout in FEC K and
 * FEC M (the same in every frame of the object, as in its header). A data frame's FEC index is its
 * position in its block (chunk index mod K). A parity frame's chunk index is the block index and
 * its FEC index is k' + j for parity shard j, where k' is the number of data chunks of that block.
 * Without FEC all three are zero.
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
const MAGIC_U32 = MAGIC.readUInt32BE(0);
/** The header CRC covers every byte before it. */
const HEADER_CRC_SPAN = H.headerCrc.offset;

/** Builds the 48-byte header for `payload`; send it followed by the payload. */
export function encodeHeader(fields: FrameFields, payload: Uint8Array): Buffer {
  return encodeHeaderAs(fields, fields.sessionId, fields.sequence, payload);
}

/** The same, with session and sequence apart: a sender stamps them on every frame without copying the fields. */
export function encodeHeaderAs(f: Omit<FrameFields, 'sessionId' | 'sequence'>, sessionId: number, sequence: number, payload: Uint8Array): Buffer {
  const header = Buffer.allocUnsafe(HEADER_SIZE);
  writeHeader(header, 0, f, sessionId, sequence, payload);
  return header;
}

/** Header and payload in one buffer, for transports that want a single write. */
export function encodeFrame(fields: FrameFields, payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_SIZE + payload.length);
  writeHeader(frame, 0, fields, fields.sessionId, fields.sequence, payload);
  frame.set(payload, HEADER_SIZE);
  return frame;
}

/**
 * Header and payload written at `target[at]` (HEADER_SIZE + payload.length bytes): a sender
 * builds a batch of frames in one buffer, with no allocation per frame.
 */
export function writeFrameAs(target: Buffer, at: number, f: Omit<FrameFields, 'sessionId' | 'sequence'>, sessionId: number, sequence: number, payload: Uint8Array): void {
  writeHeader(target, at, f, sessionId, sequence, payload);
  target.set(payload, at + HEADER_SIZE);
}

// Byte stores instead of Buffer#writeUInt*BE: this runs for every frame, and the checked
// writers cost more than the rest of the header together.
function u16(t: Buffer, at: number, v: number): void {
  t[at] = v >>> 8;
  t[at + 1] = v;
}
function u32(t: Buffer, at: number, v: number): void {
  t[at] = v >>> 24;
  t[at + 1] = v >>> 16;
  t[at + 2] = v >>> 8;
  t[at + 3] = v;
}

function writeHeader(target: Buffer, at: number, f: Omit<FrameFields, 'sessionId' | 'sequence'>, sessionId: number, sequence: number, payload: Uint8Array): void {
  if (payload.length > MAX_PAYLOAD) throw new RangeError(`payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD}`);
  u32(target, at + H.magic.offset, MAGIC_U32);
  target[at + H.version.offset] = PROTOCOL_VERSION;
  target[at + H.type.offset] = f.type;
  u16(target, at + H.flags.offset, f.flags ?? 0);
  u32(target, at + H.payloadLength.offset, payload.length);
  u32(target, at + H.sessionId.offset, sessionId);
  u32(target, at + H.sequenceHigh.offset, Math.floor(sequence / TWO_32));
  u32(target, at + H.sequenceLow.offset, sequence % TWO_32);
  u32(target, at + H.objectId.offset, f.objectId ?? 0);
  u32(target, at + H.chunkIndex.offset, f.chunkIndex ?? 0);
  target[at + H.fecK.offset] = f.fecK ?? 0;
  target[at + H.fecM.offset] = f.fecM ?? 0;
  u16(target, at + H.fecIndex.offset, f.fecIndex ?? 0);
  u16(target, at + H.pass.offset, f.pass ?? 0);
  u16(target, at + H.reserved.offset, 0);
  u32(target, at + H.payloadCrc.offset, crc32(payload));
  u32(target, at + H.headerCrc.offset, crc32Range(target, at, at + HEADER_CRC_SPAN));
}

/**
 * Validates the header at `at` without trusting anything before its CRC is checked.
 * The caller must have made sure `HEADER_SIZE` bytes are available.
 */
export function readHeader(buf: Buffer, at = 0): HeaderResult {
  if (buf.length - at < HEADER_SIZE) return { ok: false, reason: 'short' };
  if (r32(buf, at + H.magic.offset) !== MAGIC_U32) return { ok: false, reason: 'magic' };
  // crc32Range, not crc32 of a subarray: for 44 bytes the view and the native call cost more than the bytes.
  if (r32(buf, at + H.headerCrc.offset) !== crc32Range(buf, at, at + HEADER_CRC_SPAN)) return { ok: false, reason: 'header-crc' };
  if (buf[at + H.version.offset] !== PROTOCOL_VERSION) return { ok: false, reason: 'version' };
  const type = buf[at + H.type.offset]!;
  if (!isFrameType(type)) return { ok: false, reason: 'type' };
  const payloadLength = r32(buf, at + H.payloadLength.offset);
  if (payloadLength > MAX_PAYLOAD) return { ok: false, reason: 'length' };
  return {
    ok: true,
    header: {
      type,
      flags: r16(buf, at + H.flags.offset),
      payloadLength,
      sessionId: r32(buf, at + H.sessionId.offset),
      sequence: r32(buf, at + H.sequenceHigh.offset) * TWO_32 + r32(buf, at + H.sequenceLow.offset),
      objectId: r32(buf, at + H.objectId.offset),
      chunkIndex: r32(buf, at + H.chunkIndex.offset),
      fecK: buf[at + H.fecK.offset]!,
      fecM: buf[at + H.fecM.offset]!,
      fecIndex: r16(buf, at + H.fecIndex.offset),
      pass: r16(buf, at + H.pass.offset),
      payloadCrc: r32(buf, at + H.payloadCrc.offset),
    },
  };
}

// Byte loads instead of Buffer#readUInt*BE, for the same reason as the stores above (the caller has checked the length).
function r16(b: Buffer, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}
function r32(b: Buffer, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
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
