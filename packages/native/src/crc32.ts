// IEEE CRC-32 of bytes[start, end) in the addon (src/crc32.cc: PCLMULQDQ folding, or tables where the
// CPU lacks it); undefined without the addon, where the protocol's zlib.crc32 runs instead.
import { binding } from './binding.js';

export const crc32Span: ((bytes: Uint8Array, start: number, end: number) => number) | undefined = binding?.crc32;

/** Which CRC-32 runs: pclmul or table (the addon's), or zlib (Node's, the fallback). */
export const crc32Path: 'pclmul' | 'table' | 'zlib' = binding?.crc32Path ?? 'zlib';
