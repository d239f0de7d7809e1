import { FLAG_AUTHENTICATED, FLAG_ENCRYPTED, HEADER_LAYOUT, HEADER_SIZE, type HeaderField } from '@diodesync/protocol';
import { fixCrcs, headerField, setHeaderField } from './header.js';

/** Values that break careless length and count arithmetic. */
const EXTREMES = [0, 1, 0x7f, 0xff, 0x7fff, 0xffff, 0x1_0000, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff];
/** Header fields worth setting to extremes: all but the marker, the version and the CRCs (those only get a frame dropped). */
const FIELDS = (Object.keys(HEADER_LAYOUT) as HeaderField[]).filter((name) => !['magic', 'version', 'payloadCrc', 'headerCrc'].includes(name));

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
      const name = pick(FIELDS);
      setHeaderField(f, name, pick(EXTREMES) % 2 ** (8 * HEADER_LAYOUT[name].size));
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
      if (spliced.length >= HEADER_SIZE) setHeaderField(spliced, 'payloadLength', spliced.length - HEADER_SIZE);
      return { kind, bytes: fixCrcs(spliced) };
    }
    case 'auth-flags':
      // Claims a tag (or encryption) that is not there, or garbles one that is.
      setHeaderField(f, 'flags', headerField(f, 'flags') ^ pick([FLAG_AUTHENTICATED, FLAG_ENCRYPTED, FLAG_AUTHENTICATED | FLAG_ENCRYPTED]));
      return { kind, bytes: fixCrcs(f) };
  }
}
