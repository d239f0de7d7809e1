import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { RECEIVE_CLI, SEND_CLI, events, start, startImpairRelay, startReceiver, stopImpairRelay, type Running } from './lib/cli.js';
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

test('100,000 datagrams through 1% random loss (diode-impair): every one delivered once and in order', { timeout: 120_000 }, async (t) => {
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

test('a gap beyond repair cuts the TCP session on the high side (a reset, never a clean end) and is reported; the next session arrives whole', { timeout: 120_000 }, async (t) => {
  const target = await tcpTarget();
  t.after(() => target.close());
  let dropped = 0;
  const l = await link(t, {
    forward: ['feed=tcp-listen://127.0.0.1:0'], deliver: [`feed=tcp://127.0.0.1:${target.port}`], send: ['--rate', '100m', '--forward-rate', '20m'],
    relay: async (port) => {
      // 60 datagrams in a row lost early in the first session: blocks of 20 + 4 cannot rebuild that.
      const relay = await startRelay(port, (d, i) => (i >= 300 && i < 360 ? (dropped++, null) : d));
      t.after(() => relay.close());
      return relay.port;
    },
  });
  const first = randomBytes(2 * 1024 * 1024);
  await feedTcp(l.ports.feed!, first);
  await until(() => target.connections.length === 1, 30_000, () => `no connection: ${notable(l)}`);
  assert.equal(await target.connections[0]!.ended, 'reset', `the cut session ends with a reset: ${notable(l)}`);
  assert.ok(target.connections[0]!.bytes < first.length, 'and without its end');
  assert.equal(dropped, 60);
  const second = randomBytes(100_000);
  await feedTcp(l.ports.feed!, second);
  await until(() => target.connections.length === 2, 30_000, () => `no second connection: ${notable(l)}`);
  assert.equal(await target.connections[1]!.ended, 'fin');
  assert.equal(target.connections[1]!.sha256, createHash('sha256').update(second).digest('hex'));
  const { status, receiverLog } = await stop(l);
  const ch = status.streams.channels.feed;
  assert.equal(ch.sessionsOpened, 2);
  assert.equal(ch.sessionsBroken, 1);
  assert.ok(ch.gaps >= 1 && ch.lost > 0, JSON.stringify(ch));
  const gap = events(receiverLog).find((e) => e.event === 'stream-gap')!;
  assert.ok(Number(gap.to) >= Number(gap.from) && gap.channel === 'feed', JSON.stringify(gap));
  assert.ok(events(receiverLog).some((e) => e.event === 'stream-session-cut' && e.session === 1));
});

test('streams and a file tree at once through 1% loss: both complete', { timeout: 180_000 }, async (t) => {
  const out = await udpCollector();
  t.after(() => out.close());
  let relay: (Running & { port: number }) | undefined;
  const files = { 'big.bin': 4_000_000, 'd/one.bin': 300_000, 'd/two.txt': 'two\n', 'e/empty': '' };
  const l = await link(t, {
    files, forward: ['syslog=udp://127.0.0.1:0'], deliver: [`syslog=udp://127.0.0.1:${out.port}`], send: ['--rate', '60m', '--forward-rate', '10m'],
    relay: async (port) => {
      relay = await startImpairRelay(port, ['--loss', '0.01', '--seed', '5']);
      t.after(() => relay!.kill('SIGKILL'));
      return relay.port;
    },
  });
  const count = 5_000;
  await feedDatagrams(l.ports.syslog!, count, syslogLine, 10, 5);
  await until(async () => out.messages.length >= count && (await treeDifferences(l.src, l.dest)).length === 0, 90_000,
    () => `${out.messages.length} datagrams: ${notable(l)}`);
  const { status } = await stop(l);
  await stopImpairRelay(relay!);
  assert.deepEqual(await treeDifferences(l.src, l.dest), []);
  assert.equal(out.messages.length, count);
  assert.ok(out.messages.every((m, i) => indexOf(m) === i), 'in order, each once');
  assert.equal(status.streams.channels.syslog.gaps, 0);
});

test('a receiver with another key drops every stream frame; with the same key (and --encrypt) they pass', { timeout: 120_000 }, async (t) => {
  const keys = await tempDir(t);
  const key = await writeKey(keys, 'key');
  const wrong = await writeKey(keys, 'wrong');
  for (const [sendKey, expectDelivered] of [[wrong, false], [key, true]] as const) {
    const out = await udpCollector();
    const l = await link(t, {
      forward: ['syslog=udp://127.0.0.1:0'], deliver: [`syslog=udp://127.0.0.1:${out.port}`],
      send: ['--key-file', sendKey, '--encrypt'], receive: ['--key-file', key, '--encrypt'],
    });
    await feedDatagrams(l.ports.syslog!, 200, syslogLine, 20, 5);
    if (expectDelivered) await until(() => out.messages.length >= 200, 20_000, () => `${out.messages.length} delivered`);
    else await new Promise((r) => setTimeout(r, 1500));
    const { status } = await stop(l);
    await out.close();
    if (expectDelivered) {
      assert.equal(out.messages.length, 200);
      assert.ok(out.messages.every((m, i) => m.equals(syslogLine(i))));
    } else {
      assert.equal(out.messages.length, 0, 'nothing delivered');
      assert.equal(status.streams.channels.syslog.messagesIn, 0);
      assert.ok(status.counters.auth['bad-tag'] >= 200, JSON.stringify(status.counters.auth));
    }
  }
});

test('file:DIR appends datagrams one per line and writes each TCP session to its own file; a channel without --deliver is counted', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const logs = path.join(root, 'logs');
  const l = await link(t, {
    forward: ['syslog=udp://127.0.0.1:0', 'feed=tcp-listen://127.0.0.1:0', 'extra=udp://127.0.0.1:0'],
    deliver: [`syslog=file:${logs}`, `feed=file:${logs}`],
  });
  const session = randomBytes(300_000);
  await feedDatagrams(l.ports.syslog!, 100, (i) => Buffer.from(`line ${i}`), 20, 5);
  await feedTcp(l.ports.feed!, session);
  await feedDatagrams(l.ports.extra!, 10, (i) => Buffer.from(`x${i}`), 10, 5);
  const listing = async () => (await readdir(logs)).sort();
  await until(async () => (await listing()).some((f) => f.endsWith('.log') && f.startsWith('feed-')), 20_000, () => `files: ${notable(l)}`);
  const { status } = await stop(l);
  const names = await listing();
  const lines = (await readFile(path.join(logs, names.find((f) => f.startsWith('syslog-'))!), 'utf8')).split('\n');
  assert.deepEqual(lines, [...Array.from({ length: 100 }, (_, i) => `line ${i}`), '']);
  const sessionFile = names.find((f) => /^feed-\d{8}-\d{6}-s1\.log$/.test(f));
  assert.ok(sessionFile, names.join(' '));
  assert.ok((await readFile(path.join(logs, sessionFile))).equals(session));
  assert.deepEqual(status.streams.undelivered, { extra: { messages: 10, bytes: 20 } }, `${JSON.stringify(status.streams)} ${notable(l)}`);
});

test('bad --forward and --deliver give one line and exit 1', { timeout: 60_000 }, async (t) => {
  const dir = await tempDir(t);
  const usage = async (cli: string, args: string[], pattern: RegExp) => {
    const { code, stderr } = await start(cli, args).exited;
    assert.equal(code, 1, stderr);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(stderr, pattern);
  };
  const send = [dir, '--to', 'udp://127.0.0.1:9', '--state', path.join(dir, 's')];
  await usage(SEND_CLI, [...send, '--forward', 'syslog'], /expected NAME=URL/);
  await usage(SEND_CLI, [...send, '--forward', 'a/b=udp://127.0.0.1:1'], /channel name/);
  await usage(SEND_CLI, [...send, '--forward', 'x=tcp://127.0.0.1:1'], /unsupported scheme/);
  await usage(SEND_CLI, [...send, '--forward', 'x=udp://127.0.0.1:1', '--forward', 'x=udp://127.0.0.1:2'], /given twice/);
  await usage(SEND_CLI, [...send, '--forward', 'x=udp://127.0.0.1:1', '--forward-rate', '1g', '--rate', '10m'], /cannot exceed --rate/);
  await usage(SEND_CLI, [...send, '--forward', 'x=udp://192.0.2.1:1'], /cannot open a --forward channel/);
  const recv = [path.join(dir, 'dest'), '--listen', 'udp://127.0.0.1:0'];
  await usage(RECEIVE_CLI, [...recv, '--deliver', 'x=tcp-listen://127.0.0.1:1'], /unsupported scheme/);
  await usage(RECEIVE_CLI, [...recv, '--deliver', 'x=file:'], /needs a directory/);
  await usage(RECEIVE_CLI, [...recv, '--deliver', `x=file:${path.join(dir, 'dest', 'logs')}`], /must not be inside the destination/);
});
