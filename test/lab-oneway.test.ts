import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { RECEIVE_CLI, SEND_CLI, events, start } from './lib/cli.js';
import { inNetns, ip, linkStats, netnsRefusal, qdiscStats } from './lib/netns.js';
import { makeTree, tempDir, treeDifferences } from './lib/tree.js';

/*
 * The one-way lab: the sender and the receiver in two network namespaces joined by a veth
 * pair. The receiver's end has a blackhole root qdisc, so the kernel drops everything it would
 * send (ARP replies, ICMP, IPv6 chatter, anything): a data diode. The sender therefore knows
 * the receiver's MAC only from a static neighbour entry, as on a real diode. nftables is not
 * needed (nor installed on every CI machine): the qdisc's counters and the sender interface's
 * receive counters prove that nothing crossed backwards.
 */

const tag = `${process.pid % 100_000}`;
const LOW = `ds-low-${tag}`;
const HIGH = `ds-high-${tag}`;
const LOW_DEV = `dsl${tag}`;
const HIGH_DEV = `dsh${tag}`;
const LOW_IP = '10.231.0.1';
const HIGH_IP = '10.231.0.2';
const PORT = 36016;

test('one-way lab: a tree mirrors completely across a kernel-enforced diode, and no packet goes back', { timeout: 120_000 }, async (t) => {
  const refusal = await netnsRefusal(`ds-probe-${tag}`);
  if (refusal) {
    process.stdout.write(`# one-way lab skipped: ${refusal}\n`);
    return t.skip(refusal);
  }
  t.after(async () => {
    for (const ns of [LOW, HIGH]) await ip('netns', 'del', ns).catch(() => undefined);
  });
  await ip('netns', 'add', LOW);
  await ip('netns', 'add', HIGH);
  await ip('link', 'add', LOW_DEV, 'netns', LOW, 'type', 'veth', 'peer', 'name', HIGH_DEV, 'netns', HIGH);
  for (const [ns, dev, addr] of [[LOW, LOW_DEV, LOW_IP], [HIGH, HIGH_DEV, HIGH_IP]] as const) {
    // No IPv6 on the link: its chatter would be dropped anyway, but it would muddy the counters.
    await inNetns(ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1');
    await ip('-n', ns, 'addr', 'add', `${addr}/30`, 'dev', dev);
  }
  // The diode: everything the high side's interface would transmit is dropped by the kernel.
  await inNetns(HIGH, 'tc', 'qdisc', 'replace', 'dev', HIGH_DEV, 'root', 'blackhole');
  // No ARP answer can come back: the sender learns the receiver's MAC once, statically.
  const [high] = JSON.parse(await ip('-n', HIGH, '-j', 'link', 'show', HIGH_DEV)) as { address: string }[];
  await ip('-n', LOW, 'neigh', 'add', HIGH_IP, 'lladdr', high!.address, 'dev', LOW_DEV, 'nud', 'permanent');
  for (const [ns, dev] of [[LOW, LOW_DEV], [HIGH, HIGH_DEV]] as const) await ip('-n', ns, 'link', 'set', dev, 'up');
  assert.equal((await qdiscStats(HIGH, HIGH_DEV)).kind, 'blackhole');

  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  await makeTree(src, { 'big.bin': 3_000_000, 'docs/readme.txt': 'one way only\n', 'docs/deep/x.bin': 70_000, 'empty': '' });
  const receiver = start(RECEIVE_CLI, [dest, '--listen', `udp://${HIGH_IP}:${PORT}`, '--exit-when-synced', '--timeout', '60'], {}, HIGH);
  t.after(() => receiver.kill('SIGKILL'));
  await receiver.waitForEvent('listening');
  const sender = start(SEND_CLI, [src, '--to', `udp://${HIGH_IP}:${PORT}`, '--once', '-R', '2', '--rate', '100m'], {}, LOW);
  t.after(() => sender.kill('SIGKILL'));
  const sent = await sender.exited;
  assert.equal(sent.code, 0, sent.stderr);
  // The high side tries to talk back on purpose: a UDP datagram toward the sender.
  await inNetns(HIGH, process.execPath, '-e', `const s = require('node:dgram').createSocket('udp4'); s.send('back?', ${PORT}, '${LOW_IP}', () => s.close());`);
  const received = await receiver.exited;
  assert.equal(received.code, 0, received.stderr);
  assert.deepEqual(await treeDifferences(src, dest), []);
  assert.equal(events(received.stderr).find((e) => e.event === 'exit')!.synced, true);

  const diode = await qdiscStats(HIGH, HIGH_DEV);
  const lowSide = await linkStats(LOW, LOW_DEV);
  const highSide = await linkStats(HIGH, HIGH_DEV);
  t.diagnostic(`high side qdisc: sent ${diode.sent}, dropped ${diode.dropped}; low side received ${lowSide.rxPackets}, sent ${lowSide.txPackets}; high side received ${highSide.rxPackets}`);
  assert.equal(diode.sent, 0, 'the high side transmitted nothing');
  assert.ok(diode.dropped >= 1, 'what the high side tried to send was dropped by the kernel');
  assert.equal(lowSide.rxPackets, 0, 'the sender interface received not one packet');
  assert.ok(highSide.rxPackets > 100 && lowSide.txPackets >= highSide.rxPackets, 'the frames went one way');
});
