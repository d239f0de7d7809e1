// Builders of captured packets for the tests: IP/UDP inside Ethernet (tagged or not, with an
// FCS or not), Linux cooked SLL and SLL2, or raw; and capture files around them.

export function udpHeader(payload: Buffer, port: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(40000, 0);
  h.writeUInt16BE(port, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, payload]);
}

export function ipv4(body: Buffer, options: { protocol?: number; flagsOffset?: number } = {}): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + body.length, 2);
  h.writeUInt16BE(options.flagsOffset ?? 0x4000, 6);
  h[8] = 64;
  h[9] = options.protocol ?? 17;
  Buffer.from([10, 0, 0, 1, 10, 0, 0, 2]).copy(h, 12);
  return Buffer.concat([h, body]);
}

/** IPv6, with extension headers given as [next header value, 8-byte header body] in order. */
export function ipv6(body: Buffer, next = 17, extensions: number[] = []): Buffer {
  const ext = extensions.map((type, i) => {
    const e = Buffer.alloc(8);
    e[0] = i + 1 < extensions.length ? extensions[i + 1]! : next;
    return { type, e };
  });
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  const rest = Buffer.concat([...ext.map((x) => x.e), body]);
  h.writeUInt16BE(rest.length, 4);
  h[6] = ext.length > 0 ? ext[0]!.type : next;
  h[7] = 64;
  h[23] = 1;
  h[39] = 2;
  return Buffer.concat([h, rest]);
}

export function ethernet(ip: Buffer, options: { vlan?: boolean; fcs?: boolean; type?: number } = {}): Buffer {
  const type = options.type ?? (ip[0]! >> 4 === 6 ? 0x86dd : 0x0800);
  const head = Buffer.alloc(options.vlan ? 18 : 14);
  Buffer.from('02000000000202000000000b', 'hex').copy(head, 0); // someone else's MACs
  if (options.vlan) {
    head.writeUInt16BE(0x8100, 12);
    head.writeUInt16BE(42, 14);
  }
  head.writeUInt16BE(type, head.length - 2);
  const frame = Buffer.concat([head, ip]);
  return options.fcs ? Buffer.concat([frame, Buffer.from([0xde, 0xad, 0xbe, 0xef])]) : frame;
}

export function sll(ip: Buffer): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(3, 0); // sent to another host
  h.writeUInt16BE(1, 2); // ARPHRD_ETHER
  h.writeUInt16BE(6, 4);
  h.writeUInt16BE(ip[0]! >> 4 === 6 ? 0x86dd : 0x0800, 14);
  return Buffer.concat([h, ip]);
}

export function sll2(ip: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(ip[0]! >> 4 === 6 ? 0x86dd : 0x0800, 0);
  h.writeUInt32BE(2, 4); // ifindex
  h.writeUInt16BE(1, 8);
  h[10] = 0;
  h[11] = 6;
  return Buffer.concat([h, ip]);
}

/** A classic pcap file: either byte order, micro- or nanosecond magic. */
export function pcapFile(linkType: number, packets: Buffer[], options: { bigEndian?: boolean; nano?: boolean; snap?: number } = {}): Buffer {
  const be = options.bigEndian ?? false;
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    if (be) b.writeUInt32BE(v >>> 0);
    else b.writeUInt32LE(v >>> 0);
    return b;
  };
  const u16 = (v: number) => {
    const b = Buffer.alloc(2);
    if (be) b.writeUInt16BE(v);
    else b.writeUInt16LE(v);
    return b;
  };
  const snap = options.snap ?? 262144;
  const parts: Buffer[] = [u32(options.nano ? 0xa1b23c4d : 0xa1b2c3d4), u16(2), u16(4), u32(0), u32(0), u32(snap), u32(linkType)];
  for (const [i, p] of packets.entries()) {
    const kept = p.subarray(0, Math.min(p.length, snap));
    parts.push(u32(1_700_000_000 + i), u32(i), u32(kept.length), u32(p.length), kept);
  }
  return Buffer.concat(parts);
}

/** A pcapng section: its interfaces (link types) and packets (interface, bytes; 'spb' for a Simple Packet Block on interface 0). */
export function pcapngSection(linkTypes: number[], packets: { iface: number; data: Buffer; spb?: boolean }[], bigEndian = false): Buffer {
  const block = (type: number, body: Buffer) => {
    const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
    const total = 12 + padded.length;
    const head = Buffer.alloc(8);
    const tail = Buffer.alloc(4);
    if (bigEndian) {
      head.writeUInt32BE(type, 0);
      head.writeUInt32BE(total, 4);
      tail.writeUInt32BE(total);
    } else {
      head.writeUInt32LE(type, 0);
      head.writeUInt32LE(total, 4);
      tail.writeUInt32LE(total);
    }
    return Buffer.concat([head, padded, tail]);
  };
  const w32 = (v: number) => {
    const b = Buffer.alloc(4);
    if (bigEndian) b.writeUInt32BE(v >>> 0);
    else b.writeUInt32LE(v >>> 0);
    return b;
  };
  const w16 = (v: number) => {
    const b = Buffer.alloc(2);
    if (bigEndian) b.writeUInt16BE(v);
    else b.writeUInt16LE(v);
    return b;
  };
  const out = [block(0x0a0d0d0a, Buffer.concat([w32(0x1a2b3c4d), w16(1), w16(0), Buffer.alloc(8, 0xff)]))];
  for (const lt of linkTypes) out.push(block(1, Buffer.concat([w16(lt), w16(0), w32(0)])));
  out.push(block(5, Buffer.alloc(16))); // an Interface Statistics Block: skipped
  for (const p of packets) {
    if (p.spb) out.push(block(3, Buffer.concat([w32(p.data.length), p.data])));
    else out.push(block(6, Buffer.concat([w32(p.iface), w32(0), w32(0), w32(p.data.length), w32(p.data.length), p.data])));
  }
  return Buffer.concat(out);
}
