/**
 * What a frame would look like on the wire, as pcapng blocks: one section header, one Ethernet
 * interface, then one Enhanced Packet Block per datagram (Ethernet, IPv4, UDP with correct
 * checksums). Little-endian, which every pcapng reader accepts. Pure: no files.
 */

/** Made-up ends of the link: locally administered MACs, documentation addresses (RFC 5737). */
export const PCAP_SOURCE = { mac: Buffer.from('020000000001', 'hex'), ip: Buffer.from([192, 0, 2, 1]), port: 36016 };
export const PCAP_DESTINATION = { mac: Buffer.from('020000000002', 'hex'), ip: Buffer.from([192, 0, 2, 2]) };

const ETHERNET_BYTES = 14;
const IPV4_BYTES = 20;
const UDP_BYTES = 8;
/** The largest UDP payload IPv4 can carry. */
export const MAX_PCAP_PAYLOAD = 65_535 - IPV4_BYTES - UDP_BYTES;

/** Section header and interface description: the first bytes of the file. */
export function pcapngPreamble(): Buffer {
  const shb = Buffer.alloc(28);
  shb.writeUInt32LE(0x0a0d0d0a, 0);
  shb.writeUInt32LE(28, 4);
  shb.writeUInt32LE(0x1a2b3c4d, 8); // byte-order magic
  shb.writeUInt16LE(1, 12); // version 1.0
  shb.writeUInt16LE(0, 14);
  shb.writeBigInt64LE(-1n, 16); // section length not given
  shb.writeUInt32LE(28, 24);
  const idb = Buffer.alloc(20);
  idb.writeUInt32LE(1, 0);
  idb.writeUInt32LE(20, 4);
  idb.writeUInt16LE(1, 8); // LINKTYPE_ETHERNET
  idb.writeUInt32LE(0, 12); // snap length: no limit
  idb.writeUInt32LE(20, 16); // (timestamps in microseconds: the default)
  return Buffer.concat([shb, idb]);
}

/** RFC 1071 one's-complement sum of `bytes`, added to `sum` (an even-length prefix keeps alignment). */
function onesSum(bytes: Uint8Array, sum = 0): number {
  const even = bytes.length & ~1;
  for (let i = 0; i < even; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (bytes.length & 1) sum += bytes[bytes.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The Ethernet, IPv4 and UDP headers for `payload` (given as parts), checksums filled in. */
export function wireHeaders(parts: readonly Uint8Array[], payloadBytes: number, port: number, ipId: number): Buffer {
  const h = Buffer.alloc(ETHERNET_BYTES + IPV4_BYTES + UDP_BYTES);
  PCAP_DESTINATION.mac.copy(h, 0);
  PCAP_SOURCE.mac.copy(h, 6);
  h.writeUInt16BE(0x0800, 12);
  const ip = ETHERNET_BYTES;
  h[ip] = 0x45; // IPv4, 20-byte header
  h.writeUInt16BE(IPV4_BYTES + UDP_BYTES + payloadBytes, ip + 2);
  h.writeUInt16BE(ipId & 0xffff, ip + 4);
  h.writeUInt16BE(0x4000, ip + 6); // don't fragment
  h[ip + 8] = 64; // TTL
  h[ip + 9] = 17; // UDP
  PCAP_SOURCE.ip.copy(h, ip + 12);
  PCAP_DESTINATION.ip.copy(h, ip + 16);
  h.writeUInt16BE(~onesSum(h.subarray(ip, ip + IPV4_BYTES)) & 0xffff, ip + 10);
  const udp = ip + IPV4_BYTES;
  const udpLength = UDP_BYTES + payloadBytes;
  h.writeUInt16BE(PCAP_SOURCE.port, udp);
  h.writeUInt16BE(port, udp + 2);
  h.writeUInt16BE(udpLength, udp + 4);
  // Pseudo-header (addresses, protocol, length), UDP header, payload; a part of odd length would
  // shift the pairing, so parts are summed as one run of bytes when one is odd.
  let sum = onesSum(h.subarray(ip + 12, ip + 20));
  sum = onesSum(Uint8Array.of(0, 17, udpLength >> 8, udpLength & 0xff), sum);
  sum = onesSum(h.subarray(udp, udp + UDP_BYTES), sum);
  sum = parts.every((p) => p.length % 2 === 0) ? parts.reduce((s, p) => onesSum(p, s), sum) : onesSum(Buffer.concat(parts), sum);
  const checksum = ~sum & 0xffff;
  h.writeUInt16BE(checksum === 0 ? 0xffff : checksum, udp + 6); // 0 would mean "no checksum"
  return h;
}

/** The Enhanced Packet Block around one packet: its head (before the packet) and tail (padding and length). */
export function packetBlock(packetBytes: number, timeUs: bigint): { head: Buffer; tail: Buffer } {
  const padding = (4 - (packetBytes % 4)) % 4;
  const total = 28 + packetBytes + padding + 4;
  const head = Buffer.alloc(28);
  head.writeUInt32LE(6, 0);
  head.writeUInt32LE(total, 4);
  head.writeUInt32LE(0, 8); // interface 0
  head.writeUInt32LE(Number(timeUs >> 32n), 12);
  head.writeUInt32LE(Number(timeUs & 0xffffffffn), 16);
  head.writeUInt32LE(packetBytes, 20); // captured
  head.writeUInt32LE(packetBytes, 24); // on the wire
  const tail = Buffer.alloc(padding + 4);
  tail.writeUInt32LE(total, padding);
  return { head, tail };
}
