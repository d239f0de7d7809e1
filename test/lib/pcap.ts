// Rewrites the pcapng that `diode-send --to pcap:` writes (Ethernet, one interface) into the other
// shapes captures come in, so the receiver's reader is tested end to end on each: classic pcap in
// either byte order and timestamp precision, big-endian pcapng, Linux cooked SLL/SLL2, raw IP,
// 802.1Q tags and trailing FCS bytes.
import { readFileSync } from 'node:fs';

/** The Ethernet frames of a little-endian pcapng with Ethernet interfaces (as our writer makes). */
export function framesOf(pcapng: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at + 12 <= pcapng.length; ) {
    const type = pcapng.readUInt32LE(at);
    const length = pcapng.readUInt32LE(at + 4);
    if (type === 6) out.push(pcapng.subarray(at + 28, at + 28 + pcapng.readUInt32LE(at + 20)));
    at += length;
  }
  return out;
}

export const readFrames = (file: string): Buffer[] => framesOf(readFileSync(file));

export type Link = 'ethernet' | 'vlan+fcs' | 'sll' | 'sll2' | 'raw';
const LINK_TYPES: Record<Link, number> = { ethernet: 1, 'vlan+fcs': 1, sll: 113, sll2: 276, raw: 101 };

/** One Ethernet frame as the link type would carry it. */
export function relink(frame: Buffer, link: Link): Buffer {
  const type = frame.subarray(12, 14);
  const ip = frame.subarray(14);
  switch (link) {
    case 'ethernet':
      return frame;
    case 'vlan+fcs':
      return Buffer.concat([frame.subarray(0, 12), Buffer.from([0x81, 0x00, 0x00, 0x07]), frame.subarray(12), Buffer.from([1, 2, 3, 4])]);
    case 'sll': {
      const h = Buffer.alloc(16);
      h.writeUInt16BE(3, 0);
      h.writeUInt16BE(1, 2);
      h.writeUInt16BE(6, 4);
      frame.copy(h, 6, 6, 12);
      type.copy(h, 14);
      return Buffer.concat([h, ip]);
    }
    case 'sll2': {
      const h = Buffer.alloc(20);
      type.copy(h, 0);
      h.writeUInt32BE(3, 4);
      h.writeUInt16BE(1, 8);
      h[10] = 3;
      h[11] = 6;
      frame.copy(h, 12, 6, 12);
      return Buffer.concat([h, ip]);
    }
    case 'raw':
      return ip;
  }
}

function writer(bigEndian: boolean) {
  return {
    u32: (v: number) => {
      const b = Buffer.alloc(4);
      if (bigEndian) b.writeUInt32BE(v >>> 0);
      else b.writeUInt32LE(v >>> 0);
      return b;
    },
    u16: (v: number) => {
      const b = Buffer.alloc(2);
      if (bigEndian) b.writeUInt16BE(v);
      else b.writeUInt16LE(v);
      return b;
    },
  };
}

/** A classic pcap of `frames` relinked. */
export function toPcap(frames: Buffer[], link: Link, options: { bigEndian: boolean; nano: boolean }): Buffer {
  const { u32, u16 } = writer(options.bigEndian);
  const parts: Buffer[] = [u32(options.nano ? 0xa1b23c4d : 0xa1b2c3d4), u16(2), u16(4), u32(0), u32(0), u32(262144), u32(LINK_TYPES[link])];
  frames.forEach((f, i) => {
    const p = relink(f, link);
    parts.push(u32(1_700_000_000 + i), u32(i), u32(p.length), u32(p.length), p);
  });
  return Buffer.concat(parts);
}

/** A pcapng in the given byte order, the frames split over two sections (each with a decoy interface first). */
export function toPcapng(frames: Buffer[], link: Link, bigEndian: boolean): Buffer {
  const { u32, u16 } = writer(bigEndian);
  const block = (type: number, body: Buffer) => {
    const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
    return Buffer.concat([u32(type), u32(12 + padded.length), padded, u32(12 + padded.length)]);
  };
  const section = (part: Buffer[]) => [
    block(0x0a0d0d0a, Buffer.concat([u32(0x1a2b3c4d), u16(1), u16(0), Buffer.alloc(8, 0xff)])),
    block(1, Buffer.concat([u16(147), u16(0), u32(0)])), // a link type we do not decode, never used
    block(1, Buffer.concat([u16(LINK_TYPES[link]), u16(0), u32(0)])),
    ...part.map((f) => {
      const p = relink(f, link);
      return block(6, Buffer.concat([u32(1), u32(0), u32(0), u32(p.length), u32(p.length), p]));
    }),
  ];
  const half = Math.floor(frames.length / 2);
  return Buffer.concat([...section(frames.slice(0, half)), ...section(frames.slice(half))]);
}
