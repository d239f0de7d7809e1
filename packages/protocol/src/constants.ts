/** Marker that opens every superframe; a byte-stream receiver searches for it to re-align. */
export const MAGIC = Buffer.from([0xd1, 0x0d, 0xe5, 0x7c]);
export const PROTOCOL_VERSION = 1;

/** Fixed header size in bytes (see superframe.ts for the layout). */
export const HEADER_SIZE = 48;

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
