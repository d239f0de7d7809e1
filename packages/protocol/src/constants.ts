/** Marker that opens every superframe; a byte-stream receiver searches for it to re-align. */
export const MAGIC = Buffer.from([0xd1, 0x0d, 0xe5, 0x7c]);
export const PROTOCOL_VERSION = 1;

/**
 * The superframe header, big-endian: byte offset and size of each field (superframe.ts says what
 * they mean). The codec reads and writes through this table, and so do the tests that forge or
 * corrupt frames: no bare offsets.
 */
export const HEADER_LAYOUT = {
  magic: { offset: 0, size: 4 },
  version: { offset: 4, size: 1 },
  type: { offset: 5, size: 1 },
  flags: { offset: 6, size: 2 },
  payloadLength: { offset: 8, size: 4 },
  sessionId: { offset: 12, size: 4 },
  sequenceHigh: { offset: 16, size: 4 },
  sequenceLow: { offset: 20, size: 4 },
  objectId: { offset: 24, size: 4 },
  chunkIndex: { offset: 28, size: 4 },
  fecK: { offset: 32, size: 1 },
  fecM: { offset: 33, size: 1 },
  fecIndex: { offset: 34, size: 2 },
  pass: { offset: 36, size: 2 },
  reserved: { offset: 38, size: 2 },
  /** CRC-32 of the payload. */
  payloadCrc: { offset: 40, size: 4 },
  /** CRC-32 of every header byte before it. */
  headerCrc: { offset: 44, size: 4 },
} as const;

export type HeaderField = keyof typeof HEADER_LAYOUT;

/** Fixed header size in bytes: up to the end of the header CRC, the last field. */
export const HEADER_SIZE = HEADER_LAYOUT.headerCrc.offset + HEADER_LAYOUT.headerCrc.size;

/** Header flag: a TAG_SIZE-byte authentication tag follows the payload (see auth.ts). */
export const FLAG_AUTHENTICATED = 0x0001;
/** Header flag, only with FLAG_AUTHENTICATED: the payload is AES-256-GCM ciphertext and the tag is GCM's. */
export const FLAG_ENCRYPTED = 0x0002;
/** Truncated HMAC-SHA-256 or GCM tag: 128 bits. */
export const TAG_SIZE = 16;

/** Largest payload one superframe may announce; bigger lengths are treated as corruption. */
export const MAX_PAYLOAD = 65_536;

/** Largest UDP payload on IPv4 (65535 - 20 IP - 8 UDP). */
export const MAX_DATAGRAM = 65_507;

/** IPv4 (20) + UDP (8) header bytes, subtracted from the MTU to get the datagram size. */
export const IP_UDP_OVERHEAD = 28;

export const FrameType = {
  /** msgpack ObjectHeader: which file (or manifest) the following chunks belong to. */
  ObjectHeader: 1,
  /** Raw bytes of one chunk of an object. */
  Data: 2,
  /** Erasure-coding parity for a block of data chunks. */
  Parity: 3,
  /** msgpack Heartbeat: sender identity and counters. */
  Heartbeat: 4,
  /** msgpack Delete / Rename announcement. */
  Change: 5,
  /** Pass-through stream data. */
  Stream: 6,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export const FRAME_TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(FrameType).map(([name, code]) => [code, name]),
);

export function isFrameType(code: number): code is FrameType {
  return code in FRAME_TYPE_NAMES;
}
