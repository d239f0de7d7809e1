/**
 * Link-layer decoding for capture:// and pcap:, in one place: a captured packet (Ethernet with
 * or without 802.1Q tags and a trailing FCS, Linux cooked SLL/SLL2, raw IP) down to its UDP
 * payload. This is not the wire protocol (packages/protocol knows nothing of links): it only
 * unwraps what the network put around our datagrams. Pure: no sockets, no files.
 *
 * Lengths come from the IP header, never from the capture: bytes after the IP packet (Ethernet
 * padding, an FCS) are ignored, and a packet captured shorter than its IP length is truncated.
 */

/** The LINKTYPE_ values we decode (https://www.tcpdump.org/linktypes.html). */
export const LinkType = { ETHERNET: 1, RAW: 101, LINUX_SLL: 113, IPV4: 228, IPV6: 229, LINUX_SLL2: 276 } as const;

export type LinkDecoded =
  /** A whole UDP datagram: its destination port and payload (a view into the packet). */
  | { kind: 'udp'; port: number; payload: Buffer }
  /** An IP fragment: no whole datagram here (the sender's --mtu is over the link's). */
  | { kind: 'fragment' }
  /** Cut short: the capture holds fewer bytes than the IP header says. */
  | { kind: 'truncated' }
  /** Not UDP over IP, or a link type we do not decode. */
  | { kind: 'ignored'; why: string };

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
/** 802.1Q, 802.1ad (QinQ outer) tags: 4 bytes each, the real type follows. */
const VLAN_TYPES = new Set([0x8100, 0x88a8, 0x9100]);
const UDP = 17;
const IPV6_FRAGMENT = 44;
/** IPv6 extension headers that may stand before UDP (hop-by-hop, routing, destination options). */
const IPV6_SKIPPABLE = new Set([0, 43, 60]);

const ignored = (why: string): LinkDecoded => ({ kind: 'ignored', why });

/** Decodes one captured packet of link type `linkType` (as in a pcap header) down to UDP. */
export function decodeLinkFrame(linkType: number, packet: Buffer): LinkDecoded {
  switch (linkType) {
    case LinkType.ETHERNET:
      return afterEthertype(packet, 12);
    case LinkType.LINUX_SLL: // packet type, ARPHRD, address length, address (8), protocol
      return afterEthertype(packet, 14);
    case LinkType.LINUX_SLL2: // protocol first, then reserved, ifindex, ARPHRD, packet type, address
      if (packet.length < 20) return { kind: 'truncated' };
      return byEthertype(packet.readUInt16BE(0), packet, 20);
    case LinkType.RAW:
      return packet.length === 0 ? { kind: 'truncated' } : byVersion(packet, 0);
    case LinkType.IPV4:
      return ipv4(packet, 0);
    case LinkType.IPV6:
      return ipv6(packet, 0);
    default:
      return ignored(`link type ${linkType}`);
  }
}

/** The type field at `at`, behind up to two VLAN tags; the network header follows it. */
function afterEthertype(packet: Buffer, at: number): LinkDecoded {
  for (let tags = 0; ; tags++) {
    if (packet.length < at + 2) return { kind: 'truncated' };
    const type = packet.readUInt16BE(at);
    if (!VLAN_TYPES.has(type) || tags === 2) return byEthertype(type, packet, at + 2);
    at += 4;
  }
}

function byEthertype(type: number, packet: Buffer, at: number): LinkDecoded {
  if (type === ETHERTYPE_IPV4) return ipv4(packet, at);
  if (type === ETHERTYPE_IPV6) return ipv6(packet, at);
  return ignored(`ethertype 0x${type.toString(16).padStart(4, '0')}`);
}

function byVersion(packet: Buffer, at: number): LinkDecoded {
  const version = packet[at]! >> 4;
  return version === 4 ? ipv4(packet, at) : version === 6 ? ipv6(packet, at) : ignored(`IP version ${version}`);
}

function ipv4(packet: Buffer, at: number): LinkDecoded {
  if (packet.length < at + 20) return { kind: 'truncated' };
  const headerBytes = (packet[at]! & 0x0f) * 4;
  const totalBytes = packet.readUInt16BE(at + 2);
  if (packet[at]! >> 4 !== 4 || headerBytes < 20 || totalBytes < headerBytes) return ignored('malformed IPv4 header');
  if (packet[at + 9] !== UDP) return ignored(`IP protocol ${packet[at + 9]}`);
  // More fragments, or an offset: only part of a datagram.
  if (packet.readUInt16BE(at + 6) & 0x3fff) return { kind: 'fragment' };
  if (packet.length < at + totalBytes) return { kind: 'truncated' };
  return udp(packet, at + headerBytes, at + totalBytes);
}

function ipv6(packet: Buffer, at: number): LinkDecoded {
  if (packet.length < at + 40) return { kind: 'truncated' };
  if (packet[at]! >> 4 !== 6) return ignored('malformed IPv6 header');
  const payloadBytes = packet.readUInt16BE(at + 4);
  if (payloadBytes === 0) return ignored('IPv6 jumbogram');
  const end = at + 40 + payloadBytes;
  if (packet.length < end) return { kind: 'truncated' };
  let next = packet[at + 6]!;
  let offset = at + 40;
  while (IPV6_SKIPPABLE.has(next)) {
    if (offset + 8 > end) return ignored('malformed IPv6 extension header');
    const length = (packet[offset + 1]! + 1) * 8;
    next = packet[offset]!;
    offset += length;
  }
  if (next === IPV6_FRAGMENT) return { kind: 'fragment' };
  if (next !== UDP) return ignored(`IPv6 next header ${next}`);
  return udp(packet, offset, end);
}

/** The UDP header at `at`, inside an IP packet that ends at `end`. */
function udp(packet: Buffer, at: number, end: number): LinkDecoded {
  if (at + 8 > end) return ignored('malformed UDP header');
  const length = packet.readUInt16BE(at + 4);
  if (length < 8 || at + length > end) return ignored('malformed UDP length');
  return { kind: 'udp', port: packet.readUInt16BE(at + 2), payload: packet.subarray(at + 8, at + length) };
}
