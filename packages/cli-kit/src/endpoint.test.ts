import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEndpoint } from './endpoint.js';
import { parseBitRate, parseByteSize } from './units.js';

test('endpoints parse, with the default port and IPv6 brackets', () => {
  assert.deepEqual(parseEndpoint('udp://127.0.0.1:9000', ['udp']), { scheme: 'udp', host: '127.0.0.1', port: 9000 });
  assert.deepEqual(parseEndpoint('udp://localhost', ['udp']), { scheme: 'udp', host: 'localhost', port: 36016 });
  assert.deepEqual(parseEndpoint('tcp://[::1]:5', ['tcp']), { scheme: 'tcp', host: '::1', port: 5 });
  assert.deepEqual(parseEndpoint('-', ['stdio']), { scheme: 'stdio', host: '', port: 0 });
});

test('bad endpoints give one-line reasons', () => {
  for (const bad of ['udp:/x', 'http://a:1', 'udp://a:99999', 'udp://[zz]:1', '-', '']) {
    assert.throws(() => parseEndpoint(bad, ['udp']), (err: Error) => err instanceof RangeError && !err.message.includes('\n'));
  }
});

test('rates and sizes take k, m, g suffixes', () => {
  assert.equal(parseBitRate('800m'), 800e6);
  assert.equal(parseBitRate('1g'), 1e9);
  assert.equal(parseBitRate('64k'), 64e3);
  assert.equal(parseBitRate(1500), 1500);
  assert.equal(parseByteSize('4m'), 4 * 1024 * 1024);
  for (const bad of ['fast', '0', '-5m', '10x', '10MB']) assert.throws(() => parseBitRate(bad), RangeError);
});

test('capture and pcap endpoints: an interface, a file (a trailing :DIGITS is the port), or - for a pipe', () => {
  assert.deepEqual(parseEndpoint('capture://eth1', ['capture']), { scheme: 'capture', host: 'eth1', port: 36016 });
  assert.deepEqual(parseEndpoint('capture://veth-b:9000', ['capture']), { scheme: 'capture', host: 'veth-b', port: 9000 });
  assert.deepEqual(parseEndpoint('pcap:/tmp/a b.pcapng', ['pcap']), { scheme: 'pcap', host: '/tmp/a b.pcapng', port: 36016 });
  assert.deepEqual(parseEndpoint('pcap:x:1:9000', ['pcap']), { scheme: 'pcap', host: 'x:1', port: 9000 });
  assert.deepEqual(parseEndpoint('pcap:-', ['pcap']), { scheme: 'pcap', host: '-', port: 36016 });
  for (const bad of ['pcap:', 'pcap:x:99999']) assert.throws(() => parseEndpoint(bad, ['pcap']), RangeError);
  assert.throws(() => parseEndpoint('pcap:x', ['udp']), /unsupported scheme|invalid address/);
});
