import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { FrameType, HEADER_SIZE, StreamKind, decodeStreamRecord } from '@diodesync/protocol';
import { SEND_CLI, events, start, startReceiver } from './lib/cli.js';
import { startRelay } from './lib/relay.js';
import { feedDatagrams, forwardPorts, udpCollector, until } from './lib/stream-peers.js';
import { tempDir } from './lib/tree.js';

// A forwarding-only sender (--forward, no source directory), datagrams longer than one frame, and
// copies of a quiet channel's records: real CLIs on loopback.

test('a sender with --forward and no source directory forwards (no ledger, a line that says so); a 60,000-byte datagram arrives whole', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const out = await udpCollector();
  t.after(() => out.close());
  const receiver = await startReceiver(path.join(root, 'dest'), ['--deliver', `syslog=udp://127.0.0.1:${out.port}`]);
  t.after(() => receiver.kill('SIGKILL'));
  const sender = start(SEND_CLI, ['--to', `udp://127.0.0.1:${receiver.port}`, '--forward', 'syslog=udp://127.0.0.1:0', '--state', path.join(root, 'send-state'), '--once', '--metrics', '127.0.0.1:0']);
  t.after(() => sender.kill('SIGKILL'));
  const ports = await forwardPorts(sender, 1);
  const log = events(sender.stderr());
  assert.ok(log.some((e) => e.event === 'forward-only'), sender.stderr());
  assert.equal(log.find((e) => e.event === 'start')!.mode, 'forward-only');
  assert.deepEqual(log.filter((e) => e.event === 'option-ignored').map((e) => e.option).sort(), ['--metrics', '--once'], 'tree options are named as ignored');
  const big = randomBytes(60_000);
  const datagrams = [Buffer.from('<13>before'), big, Buffer.from('<13>after'), randomBytes(65_507)];
  await feedDatagrams(ports.syslog!, datagrams.length, (i) => datagrams[i]!, 1, 20);
  await until(() => out.messages.length >= datagrams.length, 20_000, () => `${out.messages.length} delivered: ${receiver.stderr()}`);
  assert.equal(out.messages.length, datagrams.length);
  for (const [i, d] of datagrams.entries()) assert.ok(out.messages[i]!.equals(d), `datagram ${i} (${d.length} bytes) byte for byte`);
  sender.kill('SIGTERM');
  const sent = await sender.exited;
  assert.equal(sent.code, 0, sent.stderr);
  const done = events(sent.stderr).find((e) => e.event === 'channel-done')!;
  assert.equal(done.split, 2);
  await assert.rejects(access(path.join(root, 'send-state', 'ledgers')), { code: 'ENOENT' }, 'no ledger was made');
  receiver.kill('SIGTERM');
  const received = await receiver.exited;
  const status = JSON.parse(await readFile(path.join(root, '.dest.diodesync', 'status.json'), 'utf8'));
  assert.equal(status.streams.channels.syslog.joined, 2, received.stderr);
});

test('a quiet channel\'s records are copied (--forward-copies 3): with two of the three copies of every other record lost and no FEC, each is delivered once, in order (a hole waits for its copy)', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const out = await udpCollector();
  t.after(() => out.close());
  const receiver = await startReceiver(path.join(root, 'dest'), ['--deliver', `alarm=udp://127.0.0.1:${out.port}`]);
  t.after(() => receiver.kill('SIGKILL'));
  // The relay drops the first two arrivals of every even record but the first (by channel sequence number; the
  // receiver starts where the first record it sees starts): only its last copy carries it, 20 ms later, after the
  // next record: the hole must wait for it (no FEC could fill it).
  const arrivals = new Map<number, number>();
  let dropped = 0;
  const relay = await startRelay(receiver.port, (d) => {
    if (d[5] !== FrameType.Stream) return d;
    const record = decodeStreamRecord(d.subarray(HEADER_SIZE, HEADER_SIZE + d.readUInt32BE(8)));
    const n = (arrivals.get(record.sequence) ?? 0) + 1;
    arrivals.set(record.sequence, n);
    if (record.kind === StreamKind.Parity || record.sequence % 2 === 1 || record.sequence === 0 || n > 2) return d;
    dropped++;
    return null;
  });
  t.after(() => relay.close());
  const sender = start(SEND_CLI, ['--to', `udp://127.0.0.1:${relay.port}`, '--forward', 'alarm=udp://127.0.0.1:0', '--fec', '0', '--forward-copies', '3', '--state', path.join(root, 'send-state')]);
  t.after(() => sender.kill('SIGKILL'));
  const ports = await forwardPorts(sender, 1);
  const count = 40;
  await feedDatagrams(ports.alarm!, count, (i) => Buffer.from(`alarm ${i}`), 1, 12);
  await until(() => out.messages.length >= count, 20_000, () => `${out.messages.length} delivered: ${receiver.stderr()}`);
  await new Promise((r) => setTimeout(r, 200)); // the last copies cross
  assert.deepEqual(out.messages.map(String), Array.from({ length: count }, (_, i) => `alarm ${i}`));
  assert.equal(dropped, count - 2);
  sender.kill('SIGTERM');
  const sent = await sender.exited;
  assert.equal(events(sent.stderr).find((e) => e.event === 'channel-done')!.copies, 2 * count);
  receiver.kill('SIGTERM');
  await receiver.exited;
  const ch = JSON.parse(await readFile(path.join(root, '.dest.diodesync', 'status.json'), 'utf8')).streams.channels.alarm;
  assert.equal(ch.gaps, 0, JSON.stringify(ch));
  assert.equal(ch.messagesOut, count);
  assert.equal(ch.duplicates, count + 2, 'the later copies of each odd record and of the first are duplicates');
});

test('the channel options without any --forward are named as ignored, and the run goes on', { timeout: 60_000 }, async (t) => {
  const dir = await tempDir(t);
  const sent = await start(SEND_CLI, [dir, '--to', 'udp://127.0.0.1:9', '--once', '--state', dir, '--forward-copies', '3', '--forward-rate', '1m', '--forward-flush', '20']).exited;
  assert.equal(sent.code, 0, sent.stderr);
  assert.deepEqual(events(sent.stderr).filter((e) => e.event === 'option-ignored').map((e) => e.option).sort(), ['--forward-copies', '--forward-rate']);
});
