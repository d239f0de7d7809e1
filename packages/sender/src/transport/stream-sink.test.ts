import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as net from 'node:net';
import { Writable } from 'node:stream';
import { TransportError } from './frame-sink.js';
import { StreamSink, TcpSink } from './stream-sink.js';

/** A stream that keeps what it is given, write by write (writev batches counted as one). */
function collector(options: { highWaterMark?: number; delayMs?: number } = {}) {
  const writes: Buffer[] = [];
  const stream = new Writable({
    highWaterMark: options.highWaterMark ?? 16 * 1024,
    writev(chunks, callback) {
      writes.push(Buffer.concat(chunks.map((c) => c.chunk as Buffer)));
      setTimeout(callback, options.delayMs ?? 0);
    },
  });
  return { stream, writes };
}

test('frames back to back, nothing else; the parts of a frame leave in one write', async () => {
  const { stream, writes } = collector();
  const sink = new StreamSink(stream, 'test');
  assert.equal(sink.send([Buffer.from('head1'), Buffer.from('body1')]), undefined);
  await new Promise((resolve) => setImmediate(resolve));
  sink.send([Buffer.from('head2'), Buffer.from('body2')]);
  await sink.flush();
  await sink.close();
  assert.deepEqual(writes.map(String), ['head1body1', 'head2body2']);
});

test('back-pressure: a full stream makes the caller wait until it drains (checked per batch of 64 frames)', async () => {
  const { stream, writes } = collector({ highWaterMark: 64, delayMs: 20 });
  const sink = new StreamSink(stream, 'slow');
  for (let i = 0; i < 63; i++) assert.equal(sink.send([Buffer.alloc(100, 1)]), undefined, 'batched');
  const wait = sink.send([Buffer.alloc(100, 1)]);
  assert.ok(wait instanceof Promise);
  await wait;
  assert.equal(Buffer.concat(writes).length, 6400);
  await sink.close();
});

test('frames written in place (reserve, commit) leave in one write per 64 frames, byte for byte', async () => {
  const { stream, writes } = collector({ highWaterMark: 1024 * 1024 });
  let calls = 0;
  const write = stream.write.bind(stream);
  stream.write = ((chunk: Buffer) => (calls++, write(chunk))) as typeof stream.write;
  const sink = new StreamSink(stream, 'batched');
  const expected: Buffer[] = [];
  for (let i = 0; i < 200; i++) {
    // Frames of varying sizes, up to 60 KB, so the 1 MiB slab is replaced along the way.
    const frame = Buffer.alloc(1 + ((i * 7919) % 60_000), i);
    expected.push(frame);
    const at = sink.reserve(frame.length);
    frame.copy(sink.batch, at);
    await sink.commit();
  }
  await sink.flush();
  await sink.close();
  // 200 / 64 batches, plus one wherever a slab ran out.
  assert.ok(calls >= 4 && calls <= 12, `${calls} writes for 200 frames`);
  assert.ok(Buffer.concat(writes).equals(Buffer.concat(expected)));
});

test('a broken stream stops the run with an error that names it', async () => {
  const { stream } = collector();
  const sink = new StreamSink(stream, 'pipe');
  const closed = new Promise((resolve) => stream.on('close', resolve));
  stream.destroy(new Error('EPIPE'));
  await closed;
  assert.throws(() => sink.send([Buffer.from('x')]), (err: unknown) => err instanceof TransportError && err.message === 'pipe: EPIPE');
  await assert.rejects(sink.flush(), /EPIPE/);
});

/** A TCP server that keeps what each connection sent. */
async function server(): Promise<{ server: net.Server; port: number; connections: net.Socket[]; received: () => string[] }> {
  const connections: net.Socket[] = [];
  const data: string[] = [];
  const srv = net.createServer((socket) => {
    const i = connections.push(socket) - 1;
    data[i] = '';
    socket.on('data', (d) => (data[i] = (data[i] ?? '') + String(d)));
    socket.on('error', () => undefined);
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return { server: srv, port: (srv.address() as net.AddressInfo).port, connections, received: () => data };
}

async function until(condition: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !condition(); await new Promise((r) => setTimeout(r, 5))) if (Date.now() > end) throw new Error('timed out');
}

test('TCP: when the appliance drops the connection, sending waits while it reconnects, then goes on', async (t) => {
  const s = await server();
  t.after(() => s.server.close());
  const reconnects: number[] = [];
  const sink = await TcpSink.open('127.0.0.1', s.port, { maxAttempts: Infinity, onReconnect: (attempt) => reconnects.push(attempt) });
  assert.equal(sink.description, `tcp://127.0.0.1:${s.port}`);
  sink.send([Buffer.from('one')]);
  await until(() => s.received()[0] === 'one');
  s.connections[0]!.destroy();
  // What is sent while the link is down may be lost (the receiver's deframer copes); then sending waits.
  let wait: Promise<void> | undefined;
  await until(() => (wait = sink.send([Buffer.from('.')])) !== undefined);
  await wait;
  sink.send([Buffer.from('two')]);
  await until(() => (s.received()[1] ?? '').endsWith('two'));
  assert.deepEqual(reconnects, [1]);
  await sink.close();
});

test('TCP: a job with an end gives up after its attempts, with the reason', async () => {
  const s = await server();
  const port = s.port;
  await new Promise((resolve) => s.server.close(resolve));
  const reconnects: string[] = [];
  await assert.rejects(TcpSink.open('127.0.0.1', port, { maxAttempts: 1, onReconnect: (_, error) => reconnects.push(error) }), /ECONNREFUSED/);
  assert.equal(reconnects.length, 1);
});

test('TCP: a connection lost for good fails the run with a TransportError', async () => {
  const s = await server();
  const sink = await TcpSink.open('127.0.0.1', s.port, { maxAttempts: 1, onReconnect: () => undefined });
  await until(() => s.connections.length === 1);
  s.server.close(); // no new connection
  s.connections[0]!.destroy(); // and the one there is gone
  const failure = await new Promise<unknown>((resolve) => {
    const poll = () => {
      try {
        const wait = sink.send([Buffer.from('x')]);
        if (wait) wait.then(() => setTimeout(poll, 5), resolve);
        else setTimeout(poll, 5);
      } catch (err) {
        resolve(err);
      }
    };
    poll();
  });
  assert.ok(failure instanceof TransportError, String(failure));
  assert.match(failure.message, new RegExp(`connection to tcp://127.0.0.1:${s.port} lost`));
  await sink.close();
});
