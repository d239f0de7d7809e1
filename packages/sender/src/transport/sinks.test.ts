import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { once } from 'node:events';
import * as net from 'node:net';
import { parseEndpoint } from '@diodesync/cli-kit';
import { openSink } from './sinks.js';
import { StreamSink, TcpSink } from './stream-sink.js';
import { UdpSink } from './udp-sink.js';

test('openSink opens the transport the endpoint names', async (t) => {
  const udp = dgram.createSocket('udp4');
  udp.bind(0, '127.0.0.1');
  await once(udp, 'listening');
  const tcp = net.createServer((s) => s.on('error', () => undefined));
  tcp.listen(0, '127.0.0.1');
  await once(tcp, 'listening');
  t.after(() => {
    udp.close();
    tcp.close();
  });
  const udpSink = await openSink(parseEndpoint(`udp://127.0.0.1:${udp.address().port}`, ['udp']));
  assert.ok(udpSink instanceof UdpSink);
  await udpSink.close();
  const tcpSink = await openSink(parseEndpoint(`tcp://127.0.0.1:${(tcp.address() as net.AddressInfo).port}`, ['tcp']));
  assert.ok(tcpSink instanceof TcpSink);
  await tcpSink.close();
  // Not closed: that would end this process's stdout.
  const stdout = await openSink(parseEndpoint('-', ['stdio']));
  assert.ok(stdout instanceof StreamSink);
  assert.equal(stdout.description, '-');
});
