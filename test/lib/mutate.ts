import { FLAG_AUTHENTICATED, FLAG_ENCRYPTED, HEADER_SIZE, crc32 } from '@diodesync/protocol';

/** Values that break careless length and count arithmetic. */
const EXTREMES = [0, 1, 0x7f, 0xff, 0x7fff, 0xffff, 0x1_0000, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff];
/** Header fields (offset, width) worth setting to extremes: flags, length, session, sequence, object, chunk, FEC, pass. */
const FIELDS: [number, 1 | 2 | 4][] = [[5, 1], [6, 2], [8, 4], [12, 4], [16, 4], [20, 4], [24, 4], [28, 4], [32, 1], [33, 1], [34, 2], [36, 2], [38, 2]];

/** Rewrites both CRCs so a mutated frame gets past the codec to the layers behind it. */
export function fixCrcs(frame: Buffer): Buffer {
  if (frame.length < HEADER_SIZE) return frame;
  const length = frame.readUInt32BE(8);
  if (HEADER_SIZE + length <= frame.length) frame.writeUInt32BE(crc32(frame.subarray(HEADER_SIZE, HEADER_SIZE + length)), 40);
  frame.writeUInt32BE(crc32(frame.subarray(0, 44)), 44);
  return frame;
}

export const MUTATIONS = ['bit-flips', 'truncate', 'extend', 'extreme-field', 'payload-bytes', 'random-bytes', 'splice', 'auth-flags'] as const;
export type Mutation = (typeof MUTATIONS)[number];

/** One mutated copy of a real frame; `random` is a seeded PRNG so a failure can be replayed. */
export function mutate(frames: readonly Buffer[], random: () => number): { kind: Mutation; bytes: Buffer } {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const kind = pick(MUTATIONS);
  const f = Buffer.from(pick(frames));
  const byte = () => Math.floor(random() * 256);
  switch (kind) {
    case 'bit-flips':
      for (let n = 1 + Math.floor(random() * 16); n > 0; n--) {
        const bit = Math.floor(random() * f.length * 8);
        f[bit >> 3]! ^= 1 << (bit & 7);
      }
      return { kind, bytes: random() < 0.5 ? fixCrcs(f) : f };
    case 'truncate':
      return { kind, bytes: f.subarray(0, Math.floor(random() * f.length)) };
    case 'extend':
      return { kind, bytes: Buffer.concat([f, Buffer.from(Array.from({ length: 1 + Math.floor(random() * 64) }, byte))]) };
    case 'extreme-field': {
      const [at, width] = pick(FIELDS);
      const v = pick(EXTREMES);
      if (width === 1) f[at] = v & 0xff;
      else if (width === 2) f.writeUInt16BE(v & 0xffff, at);
      else f.writeUInt32BE(v >>> 0, at);
      return { kind, bytes: fixCrcs(f) };
    }
    case 'payload-bytes':
      for (let n = 1 + Math.floor(random() * 8); n > 0 && f.length > HEADER_SIZE; n--) f[HEADER_SIZE + Math.floor(random() * (f.length - HEADER_SIZE))] = byte();
      return { kind, bytes: fixCrcs(f) };
    case 'random-bytes':
      return { kind, bytes: Buffer.from(Array.from({ length: Math.floor(random() * 1500) }, byte)) };
    case 'splice': {
      const other = pick(frames);
      const spliced = Buffer.concat([f.subarray(0, HEADER_SIZE), other.subarray(HEADER_SIZE)]);
      if (spliced.length >= HEADER_SIZE) spliced.writeUInt32BE(spliced.length - HEADER_SIZE, 8);
      return { kind, bytes: fixCrcs(spliced) };
    }
    case 'auth-flags':
      // Claims a tag (or encryption) that is not there, or garbles one that is.
      f.writeUInt16BE(f.readUInt16BE(6) ^ pick([FLAG_AUTHENTICATED, FLAG_ENCRYPTED, FLAG_AUTHENTICATED | FLAG_ENCRYPTED]), 6);
      return { kind, bytes: fixCrcs(f) };
  }
}
