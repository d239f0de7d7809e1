import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { SEND_CLI, events, start, startImpairRelay, startReceiver, stopImpairRelay, type Running } from './lib/cli.js';
import { writeKey } from './lib/keys.js';
import { startRelay } from './lib/relay.js';
import { feedDatagrams, feedTcp, forwardPorts, tcpTarget, udpCollector, until } from './lib/stream-peers.js';
import { makeTree, tempDir, treeDifferences } from './lib/tree.js';

// Pass-through channels end to end: low-side sockets -> diode-send --forward -> (diode-impair) ->
// diode-receive --deliver -> high-side sockets, every process a real CLI on loopback.

interface Link {
  root: string;
  src: string;
  dest: string;
  sender: Running;
  receiver: Running & { port: number };
  ports: Record<string, number>;
}

/** A receiver with `deliver`, optionally a relay in front of it, and a sender forwarding `forward` into it (watch mode). */
async function link(t: TestContext, o: { forward: string[]; deliver: string[]; send?: string[]; receive?: string[]; files?: Record<string, number | string>; relay?: (receiverPort: number) => Promise<number> }): Promise<Link> {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  await mkdir(src, { recursive: true });
  await makeTree(src, o.files ?? {});
  const receiver = await startReceiver(dest, [...o.deliver.flatMap((d) => ['--deliver', d]), ...(o.receive ?? [])]);
  t.after(() => receiver.kill('SIGKILL'));
  const to = o.relay ? await o.relay(receiver.port) : receiver.port;
  const sender = start(SEND_CLI, [src, '--to', `udp://127.0.0.1:${to}`, '--state', path.join(root, 'send-state'), '--settle', '0',
    ...o.forward.flatMap((f) => ['--forward', f]), ...(o.send ?? [])]);
  t.after(() => sender.kill('SIGKILL'));
  const ports = await forwardPorts(sender, o.forward.length);
  return { root, src, dest, sender, receiver, ports };
}

/** Stops both CLIs (SIGTERM: the sender flushes its last blocks first) and returns the receiver's last status. */
async function stop(l: Link): Promise<{ status: any; receiverLog: string; senderLog: string }> {
  l.sender.kill('SIGTERM');
  const sent = await l.sender.exited;
  await new Promise((r) => setTimeout(r, 300)); // the last parity crosses loopback
  l.receiver.kill('SIGTERM');
  const received = await l.receiver.exited;
  const status = JSON.parse(await readFile(path.join(l.root, '.dest.diodesync', 'status.json'), 'utf8'));
  return { status, receiverLog: received.stderr, senderLog: sent.stderr };
}

/** The log lines of both sides that say something went wrong, for assertion messages. */
const notable = (l: Link) => [...events(l.receiver.stderr()), ...events(l.sender.stderr())]
  .filter((e) => /gap|cut|fail|full|large|undelivered|error/.test(String(e.event))).map((e) => JSON.stringify(e)).join('\n');

/** A syslog-sized line carrying its index, so order and duplicates can be checked. */
const syslogLine = (i: number) => Buffer.from(`<134>1 2026-11-27T18:00:00.000Z plc-${i % 7} historian - - - event ${i} ${'x'.repeat(60 + (i % 80))}`);
const indexOf = (m: Buffer) => Number(/ event (\d+) /.exec(m.toString())![1]);

test('100,000 datagrams through 1% random loss (diode-impair): every one delivered once and in order', { timeout: 240_000 }, async (t) => {
  const out = await udpCollector();
  t.after(() => out.close());
  let relay: (Running & { port: number }) | undefined;
  const l = await link(t, {
    forward: ['syslog=udp://127.0.0.1:0'], deliver: [`syslog=udp://127.0.0.1:${out.port}`], send: ['--rate', '200m', '--forward-rate', '100m'],
    relay: async (port) => {
      relay = await startImpairRelay(port, ['--loss', '0.01', '--seed', '17']);
      t.after(() => relay!.kill('SIGKILL'));
      return relay.port;
    },
  });
  const count = 100_000;
  await feedDatagrams(l.ports.syslog!, count, syslogLine, 50, 5);
  await until(() => out.messages.length >= count, 60_000, () => '').catch(() => undefined);
  const { status, receiverLog } = await stop(l);
  const counters = await stopImpairRelay(relay!);
  const seen = `${out.messages.length} of ${count} delivered; relay ${JSON.stringify(counters)}; receiver ${JSON.stringify({ lost: status.framesLost, overflow: status.counters.queueOverflow, badMessage: status.counters.badMessage, channel: status.streams.channels.syslog })}: ${notable(l)}`;
  assert.equal(out.messages.length, count, seen);
  assert.ok(Number(counters.lostRandom) > 500, `the relay lost frames: ${JSON.stringify(counters)}`);
  assert.equal(out.messages.length, count);
  for (let i = 0; i < count; i++) if (indexOf(out.messages[i]!) !== i) assert.fail(`datagram ${i} is #${indexOf(out.messages[i]!)}`);
  assert.ok(out.messages.every((m, i) => m.equals(syslogLine(i))), 'byte for byte');
  const ch = status.streams.channels.syslog;
  assert.equal(ch.gaps, 0, receiverLog);
  assert.ok(ch.repaired > 0, JSON.stringify(ch));
  assert.equal(ch.messagesOut, count);
});

test('a TCP stream of random bytes arrives byte-identical (SHA-256) through 0.5% loss', { timeout: 120_000 }, async (t) => {
  const target = await tcpTarget();
  t.after(() => target.close());
  let relay: (Running & { port: number }) | undefined;
  const l = await link(t, {
    forward: ['feed=tcp-listen://127.0.0.1:0'], deliver: [`feed=tcp://127.0.0.1:${target.port}`], send: ['--rate', '200m', '--forward-rate', '150m'],
    relay: async (port) => {
      relay = await startImpairRelay(port, ['--loss', '0.005', '--seed', '3']);
      t.after(() => relay!.kill('SIGKILL'));
      return relay.port;
    },
  });
  const data = randomBytes(16 * 1024 * 1024);
  await feedTcp(l.ports.feed!, data);
  await until(() => target.connections.length === 1, 30_000, () => 'no connection on the high side');
  assert.equal(await target.connections[0]!.ended, 'fin', l.receiver.stderr() + l.sender.stderr());
  assert.equal(target.connections[0]!.bytes, data.length, l.receiver.stderr() + l.sender.stderr());
  assert.equal(target.connections[0]!.sha256, createHash('sha256').update(data).digest('hex'));
  const { status } = await stop(l);
  await stopImpairRelay(relay!);
  const ch = status.streams.channels.feed;
  assert.equal(ch.sessionsOpened, 1);
  assert.equal(ch.sessionsBroken, 0);
  assert.ok(ch.repaired > 0, `loss was repaired: ${JSON.stringify(ch)}`);
});
