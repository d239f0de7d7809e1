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

for (const io of ['auto', 'dgram'] as const) {
  test(`one superframe per datagram (io ${io}): the parts of a send joined, in order; flush sends what is batched`, async (t) => {
    const rx = await listener();
    t.after(() => rx.socket.close());
    const sink = await UdpSink.open('127.0.0.1', rx.port, { io });
    assert.equal(sink.description, `udp://127.0.0.1:${rx.port}`);
    if (io === 'dgram') assert.equal(sink.io.mode, 'dgram');
    for (let i = 0; i < 200; i++) sink.send([Buffer.from([i]), Buffer.from(`payload ${i}`)]);
    await sink.flush();
    await until(() => rx.received.length === 200);
    assert.deepEqual(rx.received[7], Buffer.concat([Buffer.from([7]), Buffer.from('payload 7')]));
    assert.deepEqual(rx.received.map((d) => d[0]), [...Array(200).keys()]);
    await sink.close();
  });
}

test('a batch leaves by itself once the event loop turns: nothing waits while the sender reads a file', async (t) => {
  const rx = await listener();
  t.after(() => rx.socket.close());
  const sink = await UdpSink.open('127.0.0.1', rx.port);
  sink.send([Buffer.from('lonely')]);
  await until(() => rx.received.length === 1);
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

test('a datagram too big for the path fails the run with a hint', async (t) => {
  const rx = await listener();
  t.after(() => rx.socket.close());
  const sink = await UdpSink.open('127.0.0.1', rx.port);
  assert.throws(() => sink.send([Buffer.alloc(70_000)]), (err: unknown) => err instanceof TransportError && /lower --mtu/.test(err.message));
  await sink.close();
});
