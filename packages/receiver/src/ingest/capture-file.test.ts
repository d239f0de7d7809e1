import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CaptureFileReader, type CapturedPacket } from './capture-file.js';
import { LinkType } from './link-frames.js';
import { ethernet, ipv4, ipv6, pcapFile, pcapngSection, sll2, udpHeader } from './link-frames.test-support.js';

const packets = [0, 1, 2, 3].map((i) => ethernet(ipv4(udpHeader(Buffer.alloc(100 + i, i), 36016))));

/** Feeds `bytes` in chunks of `size` (1 byte at a time finds every boundary bug). */
function readAll(bytes: Buffer, size: number): { packets: CapturedPacket[]; reader: CaptureFileReader } {
  const reader = new CaptureFileReader();
  const out: CapturedPacket[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(...reader.push(bytes.subarray(at, at + size)).map((p) => ({ ...p, data: Buffer.from(p.data) })));
  reader.end();
  return { packets: out, reader };
}

test('classic pcap: both byte orders, micro- and nanosecond magic, any chunking', () => {
  for (const bigEndian of [false, true]) {
    for (const nano of [false, true]) {
      const file = pcapFile(LinkType.ETHERNET, packets, { bigEndian, nano });
      for (const size of [1, 7, 64, file.length]) {
        const { packets: got, reader } = readAll(file, size);
        assert.equal(reader.failure, undefined);
        assert.deepEqual(got.map((p) => p.data), packets, `be=${bigEndian} nano=${nano} chunk=${size}`);
        assert.ok(got.every((p) => p.linkType === LinkType.ETHERNET && p.originalLength === p.data.length));
        assert.equal(reader.cutRecords, 0);
      }
    }
  }
});

test('a snap length shorter than the frame: the packet comes with its original length', () => {
  const { packets: got } = readAll(pcapFile(LinkType.ETHERNET, packets, { snap: 64 }), 1000);
  assert.equal(got.length, 4);
  assert.ok(got.every((p, i) => p.data.length === 64 && p.originalLength === packets[i]!.length));
});

test('pcapng: several sections (each its own byte order and interfaces), EPB and SPB, other blocks skipped', () => {
  const v6 = sll2(ipv6(udpHeader(Buffer.from('six'), 36016)));
  const file = Buffer.concat([
    pcapngSection([LinkType.ETHERNET, LinkType.LINUX_SLL2], [{ iface: 0, data: packets[0]! }, { iface: 1, data: v6 }, { iface: 0, data: packets[1]!, spb: true }]),
    pcapngSection([LinkType.RAW], [{ iface: 0, data: ipv4(udpHeader(Buffer.from('raw'), 1)) }], true),
  ]);
  for (const size of [1, 13, file.length]) {
    const { packets: got, reader } = readAll(file, size);
    assert.equal(reader.failure, undefined);
    assert.deepEqual(got.map((p) => p.linkType), [LinkType.ETHERNET, LinkType.LINUX_SLL2, LinkType.ETHERNET, LinkType.RAW]);
    assert.deepEqual(got[1]!.data, v6);
    assert.deepEqual(got[2]!.data, packets[1]);
  }
});

test('a capture cut in the middle of a record: the whole ones come out, the cut one is counted', () => {
  for (const file of [pcapFile(LinkType.ETHERNET, packets), pcapngSection([LinkType.ETHERNET], packets.map((data) => ({ iface: 0, data })))]) {
    const cut = file.subarray(0, file.length - 30);
    const { packets: got, reader } = readAll(cut, 100);
    assert.equal(got.length, 3);
    assert.equal(reader.cutRecords, 1);
    assert.equal(reader.failure, undefined);
  }
});

test('not a capture, or a record length no capture has: a failure, and nothing after it', () => {
  assert.match(readAll(Buffer.from('GET / HTTP/1.1\r\n\r\n'), 4).reader.failure ?? '', /not a pcap/);
  const file = pcapFile(LinkType.ETHERNET, packets);
  file.writeUInt32LE(0x7fffffff, 24 + 8); // the first record's captured length
  const { packets: got, reader } = readAll(file, 50);
  assert.equal(got.length, 0);
  assert.match(reader.failure ?? '', /corrupt/);
});
