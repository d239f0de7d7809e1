import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseEndpoint } from '@diodesync/cli-kit';
import { PcapSink } from './pcap-sink.js';
import { openSink } from './sinks.js';

/** RFC 1071 sum, folded: a header with a correct checksum sums to 0xffff. */
function sum(bytes: Buffer, start = 0): number {
  let s = start;
  for (let i = 0; i + 1 < bytes.length; i += 2) s += bytes.readUInt16BE(i);
  if (bytes.length % 2) s += bytes[bytes.length - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

test('--to pcap:FILE writes a pcapng of Ethernet/IPv4/UDP frames with correct checksums, parts and odd lengths included', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'diodesync-pcap-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'wire.pcapng');
  const sink = await openSink(parseEndpoint(`pcap:${file}:9000`, ['pcap']));
  assert.ok(sink instanceof PcapSink);
  const sent = [[Buffer.from('head'), Buffer.from('odd payload')], [Buffer.alloc(1471, 7)], [Buffer.from('x')]];
  for (const parts of sent) await sink.send(parts);
  await sink.flush();
  await sink.close();

  const bytes = await readFile(file);
  assert.equal(bytes.readUInt32LE(0), 0x0a0d0d0a);
  assert.equal(bytes.readUInt32LE(8), 0x1a2b3c4d);
  let at = bytes.readUInt32LE(4);
  assert.equal(bytes.readUInt32LE(at), 1, 'interface description');
  assert.equal(bytes.readUInt16LE(at + 8), 1, 'Ethernet');
  at += bytes.readUInt32LE(at + 4);
  for (const parts of sent) {
    assert.equal(bytes.readUInt32LE(at), 6, 'enhanced packet block');
    const length = bytes.readUInt32LE(at + 4);
    assert.equal(bytes.readUInt32LE(at + length - 4), length, 'trailing length');
    const packet = bytes.subarray(at + 28, at + 28 + bytes.readUInt32LE(at + 20));
    const payload = Buffer.concat(parts);
    assert.equal(packet.readUInt16BE(12), 0x0800);
    const ip = packet.subarray(14, 34);
    assert.equal(sum(ip), 0xffff, 'IPv4 header checksum');
    assert.equal(ip.readUInt16BE(2), 28 + payload.length);
    const udp = packet.subarray(34);
    assert.equal(udp.readUInt16BE(2), 9000, 'the port given');
    assert.equal(udp.readUInt16BE(4), 8 + payload.length);
    const pseudo = Buffer.concat([ip.subarray(12, 20), Buffer.from([0, 17, udp.length >> 8, udp.length & 0xff])]);
    assert.equal(sum(udp, sum(pseudo)), 0xffff, 'UDP checksum over the pseudo-header');
    assert.deepEqual(udp.subarray(8), payload);
    at += length;
  }
  assert.equal(at, bytes.length);
});

test('--to pcap:FILE in a directory that does not exist fails at open', async () => {
  await assert.rejects(openSink(parseEndpoint('pcap:/nonexistent-dir/x.pcapng', ['pcap'])), (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
});
