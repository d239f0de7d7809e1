/**
 * An incremental reader of capture files, fed a byte stream in any chunks (a file, a pipe from
 * `tcpdump -w -`): classic pcap (either byte order, micro- or nanosecond magic) and pcapng
 * (any number of section headers, each with its own byte order and interfaces; Enhanced, Simple
 * and obsolete Packet Blocks). It hands on each packet with its link type; a packet captured
 * shorter than it was (snap length) is handed on all the same (the link decoder finds it cut
 * short from the IP lengths), a record cut off by the end of the stream is counted. A stream
 * that is not a capture, or a record whose length cannot be, is an error (`failure`): nothing
 * after it can be trusted to be aligned.
 */

export interface CapturedPacket {
  linkType: number;
  data: Buffer;
  /** Length on the wire; more than data.length when the capture cut it (snap length). */
  originalLength: number;
}

const PCAPNG_SECTION = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER = 0x1a2b3c4d;
/** Classic pcap magics as read big-endian: microsecond and nanosecond, either byte order. */
const PCAP_MAGICS = new Map<number, boolean>([[0xa1b2c3d4, false], [0xa1b23c4d, false], [0xd4c3b2a1, true], [0x4d3cb2a1, true]]);
/** No record is longer than this (libpcap's own bound is 256 KiB; pcapng blocks carry options too). */
const MAX_RECORD = 16 * 1024 * 1024;

type Format = { kind: 'pcap'; littleEndian: boolean; linkType: number } | { kind: 'pcapng'; littleEndian: boolean; interfaces: { linkType: number; snapLength: number }[] };

export class CaptureFileReader {
  private pending: Buffer = Buffer.alloc(0);
  private format: Format | undefined;
  /** Set once the stream proved not to be a capture, or lost its alignment: nothing more is read. */
  failure: string | undefined;
  /** A record cut off by the end of the stream (0 or 1). Packets cut by the snap length are the link decoder's to find. */
  cutRecords = 0;
  packets = 0;

  /** Takes the next bytes of the stream; returns the whole packets they complete. */
  push(chunk: Buffer): CapturedPacket[] {
    if (this.failure) return [];
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: CapturedPacket[] = [];
    let at = 0;
    for (;;) {
      const used = this.next(at, out);
      if (used === 0 || this.failure) break;
      at += used;
    }
    this.pending = this.pending.subarray(at);
    return out;
  }

  /** The stream ended: a part of a record left over is one truncated record. */
  end(): void {
    if (this.failure) return;
    if (this.format === undefined && this.pending.length > 0) this.failure = 'not a pcap or pcapng capture (too short)';
    else if (this.pending.length > 0) this.cutRecords++;
    this.pending = Buffer.alloc(0);
  }

  /** Reads one header or record at `at`: the bytes it took, or 0 when more are needed. */
  private next(at: number, out: CapturedPacket[]): number {
    const b = this.pending;
    if (b.length - at < 4) return 0;
    if (this.format === undefined || (this.format.kind === 'pcapng' && b.readUInt32BE(at) === PCAPNG_SECTION)) return this.header(at);
    return this.format.kind === 'pcap' ? this.pcapRecord(at, this.format, out) : this.pcapngBlock(at, this.format, out);
  }

  /** The file header (classic) or a section header block (pcapng, possibly one of several). */
  private header(at: number): number {
    const b = this.pending;
    const magic = b.readUInt32BE(at);
    if (magic === PCAPNG_SECTION) {
      if (b.length - at < 12) return 0;
      const order = b.readUInt32LE(at + 8);
      const littleEndian = order === PCAPNG_BYTE_ORDER;
      if (!littleEndian && b.readUInt32BE(at + 8) !== PCAPNG_BYTE_ORDER) return this.fail('pcapng section header with a bad byte-order magic');
      const length = littleEndian ? b.readUInt32LE(at + 4) : b.readUInt32BE(at + 4);
      if (length < 28 || length % 4 !== 0 || length > MAX_RECORD) return this.fail(`pcapng section header of ${length} bytes`);
      if (b.length - at < length) return 0;
      this.format = { kind: 'pcapng', littleEndian, interfaces: [] };
      return length;
    }
    const swapped = PCAP_MAGICS.get(magic);
    if (swapped === undefined || this.format !== undefined) return this.fail('not a pcap or pcapng capture (unknown magic)');
    if (b.length - at < 24) return 0;
    // The link type's upper bits may carry FCS details; the type is the low 16.
    const linkType = (swapped ? b.readUInt32LE(at + 20) : b.readUInt32BE(at + 20)) & 0xffff;
    this.format = { kind: 'pcap', littleEndian: swapped, linkType };
    return 24;
  }

  private pcapRecord(at: number, f: Extract<Format, { kind: 'pcap' }>, out: CapturedPacket[]): number {
    const b = this.pending;
    if (b.length - at < 16) return 0;
    const u32 = (o: number) => (f.littleEndian ? b.readUInt32LE(at + o) : b.readUInt32BE(at + o));
    const captured = u32(8);
    if (captured > MAX_RECORD) return this.fail(`pcap record of ${captured} bytes: the file is corrupt`);
    if (b.length - at < 16 + captured) return 0;
    this.emit(out, f.linkType, b.subarray(at + 16, at + 16 + captured), u32(12));
    return 16 + captured;
  }

  private pcapngBlock(at: number, f: Extract<Format, { kind: 'pcapng' }>, out: CapturedPacket[]): number {
    const b = this.pending;
    if (b.length - at < 8) return 0;
    const u32 = (o: number) => (f.littleEndian ? b.readUInt32LE(at + o) : b.readUInt32BE(at + o));
    const u16 = (o: number) => (f.littleEndian ? b.readUInt16LE(at + o) : b.readUInt16BE(at + o));
    const type = u32(0);
    const length = u32(4);
    if (length < 12 || length % 4 !== 0 || length > MAX_RECORD) return this.fail(`pcapng block of ${length} bytes: the file is corrupt`);
    if (b.length - at < length) return 0;
    const body = (from: number, bytes: number) => b.subarray(at + from, at + Math.min(from + bytes, length - 4));
    switch (type) {
      case 1: // Interface Description: link type, reserved, snap length
        f.interfaces.push({ linkType: u16(8), snapLength: u32(12) });
        break;
      case 6: { // Enhanced Packet: interface, timestamp (2), captured, original, data
        const iface = f.interfaces[u32(8)];
        if (iface) this.emit(out, iface.linkType, body(28, u32(20)), u32(24));
        break;
      }
      case 2: { // Packet (obsolete): interface (16 bits), drops, timestamp (2), captured, original, data
        const iface = f.interfaces[u16(8)];
        if (iface) this.emit(out, iface.linkType, body(28, u32(20)), u32(24));
        break;
      }
      case 3: { // Simple Packet: original length, data up to the snap length of interface 0
        const iface = f.interfaces[0];
        const original = u32(8);
        if (iface) this.emit(out, iface.linkType, body(12, iface.snapLength > 0 ? Math.min(original, iface.snapLength) : original), original);
        break;
      }
      default: // statistics, name resolution, custom blocks: nothing for us
    }
    return length;
  }

  private emit(out: CapturedPacket[], linkType: number, data: Buffer, originalLength: number): void {
    this.packets++;
    out.push({ linkType, data, originalLength });
  }

  private fail(why: string): number {
    this.failure = why;
    return 0;
  }
}
