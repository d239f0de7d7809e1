import * as zlib from 'node:zlib';
import { crc32Span, crc32Path } from '@diodesync/native';
import CRC32 from 'crc-32';

type Crc32 = (data: Uint8Array) => number;

// The addon's CRC-32 (PCLMULQDQ: 140 ns for a 1,424-byte payload, call included) where it is built;
// else Node's zlib.crc32 (the system zlib's tables on Debian: 440 ns); crc-32 is the portable last
// resort and the reference the tests compare against. All are IEEE CRC-32.
const zlibCrc = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

const span = crc32Span;

/** IEEE CRC-32 as an unsigned 32-bit integer. */
export const crc32: Crc32 = span
  ? (data) => span(data, 0, data.length)
  : zlibCrc
    ? (data) => zlibCrc(data)
    : (data) => CRC32.buf(data) >>> 0;

/** Which runs: pclmul or table (the addon), zlib, or js (crc-32). */
export const crcPath: string = crc32Span ? crc32Path : zlibCrc ? 'zlib' : 'js';

/** The pure-JS implementation, for cross-checking. */
export const crc32Reference: Crc32 = (data) => CRC32.buf(data) >>> 0;

const TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/**
 * IEEE CRC-32 of `buf[start, end)`, in JavaScript, for short spans such as a frame header: no
 * subarray and no native call, which cost more than the bytes themselves there (about 60 ns
 * against 180 ns for 44 bytes). Long spans go to `crc32`.
 */
export function crc32Range(buf: Uint8Array, start: number, end: number): number {
  let c = -1;
  for (let i = start; i < end; i++) c = TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
