import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { TransportError } from './frame-sink.js';
import { UdpSink } from './udp-sink.js';

async function listener(): Promise<{ socket: dgram.Socket; port: number; received: Buffer[] }> {
  const socket = dgram.createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (msg) => received.push(msg));
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return { socket, port: socket.address().port, received };
}

async function until(condition: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !condition(); await sleep(5)) if (Date.now() > end) throw new Error('timed out');
}

test('one superframe per datagram: the parts of a send joined, in order; flush waits for them', async (t) => {
  const rx = await listener();
  t.after(() => rx.socket.close());
  const sink = await UdpSink.open('127.0.0.1', rx.port);
  assert.equal(sink.description, `udp://127.0.0.1:${rx.port}`);
  for (let i = 0; i < 100; i++) sink.send([Buffer.from([i]), Buffer.from(`payload ${i}`)]);
  await sink.flush();
  await until(() => rx.received.length === 100);
  assert.deepEqual(rx.received[7], Buffer.concat([Buffer.from([7]), Buffer.from('payload 7')]));
  assert.deepEqual(rx.received.map((d) => d[0]), [...Array(100).keys()]);
  await sink.close();
});

test('back-pressure: past 512 datagrams in flight the caller is told to wait, until half have left', async (t) => {
  const rx = await listener();
  t.after(() => rx.socket.close());
  const sink = await UdpSink.open('127.0.0.1', rx.port);
  let free = 0;
  let wait: Promise<void> | undefined;
  while (!(wait = sink.send([Buffer.alloc(16)]))) free++;
  assert.equal(free, 511);
  await wait;
  await sink.close();
});

test('nobody listening (ICMP port unreachable) is what a diode looks like: counted, never fatal', async () => {
  const gone = await listener();
  gone.socket.close(); // a port with no listener
  const sink = await UdpSink.open('127.0.0.1', gone.port);
  for (let i = 0; i < 20 && sink.refused === 0; i++) {
    sink.send([Buffer.alloc(32)]);
    await sleep(10);
  }
  assert.ok(sink.refused > 0, 'the refusals were seen and counted');
  await sink.flush();
  assert.equal(sink.send([Buffer.alloc(32)]), undefined, 'and sending goes on');
  await sink.close();
});

test('a datagram too big for the path fails the run with a hint, on the next send or flush', async (t) => {
  const rx = await listener();
  t.after(() => rx.socket.close());
  const sink = await UdpSink.open('127.0.0.1', rx.port);
  sink.send([Buffer.alloc(70_000)]);
  await assert.rejects(sink.flush(), (err: unknown) => err instanceof TransportError && /lower --mtu/.test(err.message));
  assert.throws(() => sink.send([Buffer.alloc(10)]), TransportError);
  await sink.close();
});
