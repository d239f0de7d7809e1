import * as zlib from 'node:zlib';
import CRC32 from 'crc-32';

type Crc32 = (data: Uint8Array) => number;

// Node >= 20.15 computes CRC-32 natively (several GB/s); crc-32 is the portable
// fallback and the reference the tests compare against. Both are IEEE CRC-32.
const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** IEEE CRC-32 as an unsigned 32-bit integer. */
export const crc32: Crc32 = native
  ? (data) => native(data)
  : (data) => CRC32.buf(data) >>> 0;

/** The pure-JS implementation, for cross-checking. */
export const crc32Reference: Crc32 = (data) => CRC32.buf(data) >>> 0;
