import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { once } from 'node:events';
import * as net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { FrameType, HEADER_LAYOUT, encodeHeaderAs } from '@diodesync/protocol';
import { LinkFanout } from './link-fanout.js';
import { TcpSink } from './stream-sink.js';
import { UdpSink } from './udp-sink.js';

async function listener(): Promise<{ socket: dgram.Socket; port: number; received: Buffer[] }> {
  const socket = dgram.createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (msg) => received.push(msg));
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  socket.setRecvBufferSize(4 << 20); // the frames go out in one burst: room for all of them
  return { socket, port: socket.address().port, received };
}

async function until(condition: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !condition(); await sleep(5)) if (Date.now() > end) throw new Error('timed out');
}

/** A real frame's parts: the fan-out reads the type and the sequence number from the header. */
function frame(sequence: number, type: number = FrameType.Data): Buffer[] {
  const payload = Buffer.from(`frame ${sequence}`);
  return [encodeHeaderAs({ type: type as FrameType }, 7, sequence, payload), payload];
}

const sequenceOf = (d: Buffer) => d.readUInt32BE(HEADER_LAYOUT.sequenceLow.offset);
const noEvents = { down: () => undefined, up: () => undefined };

test('copies: every frame on each link', async (t) => {
  const [a, b] = [await listener(), await listener()];
  t.after(() => (a.socket.close(), b.socket.close()));
  const fanout = new LinkFanout([{ name: 'a', sink: await UdpSink.open('127.0.0.1', a.port) }, { name: 'b', sink: await UdpSink.open('127.0.0.1', b.port) }], 'copy', noEvents);
  for (let s = 0; s < 300; s++) await fanout.send(frame(s));
  await fanout.flush();
  await until(() => a.received.length === 300 && b.received.length === 300).catch((e) => { throw new Error(`${e} ${a.received.length} ${b.received.length}`); });
  assert.deepEqual(a.received.map(sequenceOf), [...Array(300).keys()]);
  assert.deepEqual(b.received.map(sequenceOf), [...Array(300).keys()]);
  assert.deepEqual(fanout.summary().map((l) => l.framesSent), [300, 300]);
  await fanout.close();
});

test('a stripe: each link gets every other sequence number, and every heartbeat', async (t) => {
  const [a, b] = [await listener(), await listener()];
  t.after(() => (a.socket.close(), b.socket.close()));
  const fanout = new LinkFanout([{ name: 'a', sink: await UdpSink.open('127.0.0.1', a.port) }, { name: 'b', sink: await UdpSink.open('127.0.0.1', b.port) }], 'stripe', noEvents);
  const heartbeats = new Set([0, 51, 100, 199]);
  for (let s = 0; s < 200; s++) await fanout.send(frame(s, heartbeats.has(s) ? FrameType.Heartbeat : FrameType.Data));
  await fanout.flush();
  const expected = (parity: number) => [...Array(200).keys()].filter((s) => s % 2 === parity || heartbeats.has(s));
  await until(() => a.received.length === expected(0).length && b.received.length === expected(1).length);
  assert.deepEqual(a.received.map(sequenceOf), expected(0));
  assert.deepEqual(b.received.map(sequenceOf), expected(1));
  await fanout.close();
});

test('a TCP link that goes down is logged and left out; the UDP link goes on; the TCP link comes back', { timeout: 60_000 }, async (t) => {
  const udp = await listener();
  t.after(() => udp.socket.close());
  const tcpReceived: Buffer[] = [];
  const connections = new Set<net.Socket>();
  const serve = (port = 0) => {
    const server = net.createServer((s) => void connections.add(s.on('data', (d) => tcpReceived.push(d)).on('error', () => undefined)));
    return new Promise<net.Server>((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
  };
  let server = await serve();
  const port = (server.address() as net.AddressInfo).port;
  const tcp = await TcpSink.open('127.0.0.1', port, { maxAttempts: Infinity, onReconnect: () => undefined });
  const events: string[] = [];
  const fanout = new LinkFanout([{ name: 'tcp', sink: tcp }, { name: 'udp', sink: await UdpSink.open('127.0.0.1', udp.port) }], 'copy', {
    down: (link) => void events.push(`down ${link}`),
    up: (link) => void events.push(`up ${link}`),
  });
  t.after(() => fanout.close());
  for (let s = 0; s < 50; s++) await fanout.send(frame(s));
  await fanout.flush();
  await until(() => udp.received.length === 50);
  // The appliance goes away: its connection is cut and nothing listens any more.
  server.close();
  for (const c of connections) c.destroy();
  connections.clear();
  await sleep(100);
  const started = Date.now();
  for (let s = 50; s < 150; s++) await fanout.send(frame(s));
  await until(() => udp.received.length === 150);
  assert.ok(Date.now() - started < 10_000, 'the UDP link was held up at most one stall');
  assert.deepEqual(events, ['down tcp']);
  const tcpLink = fanout.summary().find((l) => l.name === 'tcp')!;
  assert.ok(tcpLink.framesMissed >= 90, `tcp missed ${tcpLink.framesMissed}`);
  // The appliance is back: the reconnect succeeds and the link takes frames again.
  server = await serve(port);
  t.after(() => server.close());
  await until(() => events.includes('up tcp'), 40_000);
  const before = tcpReceived.length;
  for (let s = 150; s < 160; s++) await fanout.send(frame(s));
  await fanout.flush();
  await until(() => tcpReceived.length > before);
});

test('a TCP link whose appliance is not up at the start joins when it connects; the UDP link sends meanwhile; closing stops its retries', { timeout: 60_000 }, async (t) => {
  const udp = await listener();
  t.after(() => udp.socket.close());
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve())); // nothing listens there yet
  const stop = new AbortController();
  const opening = TcpSink.open('127.0.0.1', port, { maxAttempts: Infinity, onReconnect: () => undefined, signal: stop.signal });
  const events: string[] = [];
  const fanout = new LinkFanout([{ name: 'udp', sink: await UdpSink.open('127.0.0.1', udp.port) }, { name: 'tcp', url: `tcp://127.0.0.1:${port}`, sink: opening }], 'copy', {
    down: (link) => void events.push(`down ${link}`),
    up: (link) => void events.push(`up ${link}`),
    closing: () => stop.abort(),
  });
  t.after(() => fanout.close());
  assert.equal(fanout.description, `udp=udp://127.0.0.1:${udp.port} + tcp=tcp://127.0.0.1:${port}`);
  for (let s = 0; s < 20; s++) await fanout.send(frame(s));
  await fanout.flush();
  await until(() => udp.received.length === 20);
  assert.equal(fanout.summary()[1]!.framesMissed, 20);
  const tcpReceived: Buffer[] = [];
  const server = net.createServer((s) => void s.on('data', (d) => tcpReceived.push(d)).on('error', () => undefined));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  t.after(() => server.close());
  await until(() => events.includes('up tcp'), 40_000);
  assert.deepEqual(events, ['down tcp', 'up tcp'], 'down from the start (still connecting), then up');
  for (let s = 20; s < 30; s++) await fanout.send(frame(s));
  await fanout.flush();
  await until(() => tcpReceived.length > 0 && udp.received.length === 30);
  await fanout.close();

  // Closed while a link still connects: the retries stop (nothing keeps the process alive).
  const stop2 = new AbortController();
  t.after(() => stop2.abort());
  const never = TcpSink.open('127.0.0.1', port + 1 === 65536 ? 1 : port + 1, { maxAttempts: Infinity, onReconnect: () => undefined, signal: stop2.signal });
  const f2 = new LinkFanout([{ name: 'udp', sink: await UdpSink.open('127.0.0.1', udp.port) }, { name: 'tcp', sink: never }], 'copy', { ...noEvents, closing: () => stop2.abort() });
  await f2.close();
  await assert.rejects(never, (err: Error) => err.name === 'AbortError');
});
