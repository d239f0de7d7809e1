import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeLinkFrame, LinkType, type LinkDecoded } from './link-frames.js';
import { ethernet, ipv4, ipv6, sll, sll2, udpHeader } from './link-frames.test-support.js';

const payload = Buffer.from('a frame for us, whoever the MAC and IP are');
const udp = udpHeader(payload, 36016);

function assertUdp(decoded: LinkDecoded, port = 36016): void {
  assert.equal(decoded.kind, 'udp', JSON.stringify(decoded));
  if (decoded.kind !== 'udp') return;
  assert.equal(decoded.port, port);
  assert.deepEqual(decoded.payload, payload);
}

test('Ethernet: IPv4 and IPv6, untagged and 802.1Q tagged, with and without a trailing FCS', () => {
  for (const ip of [ipv4(udp), ipv6(udp)]) {
    for (const vlan of [false, true]) {
      for (const fcs of [false, true]) assertUdp(decodeLinkFrame(LinkType.ETHERNET, ethernet(ip, { vlan, fcs })));
    }
  }
  // A short frame padded to Ethernet's 60-byte minimum: the IP length says where the datagram ends.
  const tiny = udpHeader(Buffer.from('x'), 9);
  const padded = Buffer.concat([ethernet(ipv4(tiny)), Buffer.alloc(17)]);
  const d = decodeLinkFrame(LinkType.ETHERNET, padded);
  assert.ok(d.kind === 'udp' && d.payload.equals(Buffer.from('x')) && d.port === 9);
});

test('Linux cooked SLL and SLL2, raw IP (101) and IPv4/IPv6 (228/229)', () => {
  for (const ip of [ipv4(udp), ipv6(udp)]) {
    assertUdp(decodeLinkFrame(LinkType.LINUX_SLL, sll(ip)));
    assertUdp(decodeLinkFrame(LinkType.LINUX_SLL2, sll2(ip)));
    assertUdp(decodeLinkFrame(LinkType.RAW, ip));
  }
  assertUdp(decodeLinkFrame(LinkType.IPV4, ipv4(udp)));
  assertUdp(decodeLinkFrame(LinkType.IPV6, ipv6(udp)));
});

test('IPv6 extension headers before UDP are skipped; a fragment header is a fragment', () => {
  assertUdp(decodeLinkFrame(LinkType.RAW, ipv6(udp, 17, [0, 60])));
  assert.equal(decodeLinkFrame(LinkType.RAW, ipv6(udp, 17, [44])).kind, 'fragment');
});

test('IPv4 fragments: first (more fragments) and later (offset) are fragments, not datagrams', () => {
  assert.equal(decodeLinkFrame(LinkType.ETHERNET, ethernet(ipv4(udp, { flagsOffset: 0x2000 }))).kind, 'fragment');
  assert.equal(decodeLinkFrame(LinkType.ETHERNET, ethernet(ipv4(udp.subarray(0, 16), { flagsOffset: 185 }))).kind, 'fragment');
});

test('cut short by the snap length or the end of a capture: truncated, never a crash', () => {
  const frame = ethernet(ipv4(udp));
  for (let cut = 0; cut < frame.length; cut++) {
    const d = decodeLinkFrame(LinkType.ETHERNET, frame.subarray(0, cut));
    assert.equal(d.kind, 'truncated', `cut at ${cut}`);
  }
  const v6 = sll2(ipv6(udp));
  for (let cut = 0; cut < v6.length; cut++) assert.equal(decodeLinkFrame(LinkType.LINUX_SLL2, v6.subarray(0, cut)).kind, 'truncated');
});

test('not ours: TCP, ARP, an unknown link type, a UDP length beyond the packet', () => {
  assert.equal(decodeLinkFrame(LinkType.ETHERNET, ethernet(ipv4(udp, { protocol: 6 }))).kind, 'ignored');
  assert.equal(decodeLinkFrame(LinkType.ETHERNET, ethernet(Buffer.alloc(28), { type: 0x0806 })).kind, 'ignored');
  assert.equal(decodeLinkFrame(147, ipv4(udp)).kind, 'ignored');
  const lying = Buffer.from(udp);
  lying.writeUInt16BE(udp.length + 10, 4);
  assert.equal(decodeLinkFrame(LinkType.RAW, ipv4(lying)).kind, 'ignored');
});
