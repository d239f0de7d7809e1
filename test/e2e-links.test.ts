import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RECEIVE_CLI, SEND_CLI, events, start, startImpairRelay, stopImpairRelay, type Running } from './lib/cli.js';
import { makeTree, tempDir, treeDifferences } from './lib/tree.js';

interface LinkStatus { name: string; state: string; framesLost: number; counters: { framesReceived: number; duplicateFrames: number; heartbeats: number } }
interface Status { framesLost: number; counters: { framesReceived: number; duplicateFrames: number }; links: LinkStatus[] }

/** No FEC, one send of each file: a frame lost on the way is a file missing, unless another link brought it. */
const BARE = ['--once', '--fec', '0', '-R', '1', '--rate', '40m'];

/** A receiver with one --listen per name, each on an ephemeral loopback port; returns once all listen. */
async function startLinkedReceiver(dest: string, state: string, names: string[], args: string[]): Promise<Running & { ports: Record<string, number> }> {
  const receiver = start(RECEIVE_CLI, [dest, '--state', state, ...names.flatMap((n) => ['--listen', `${n}=udp://127.0.0.1:0`]), ...args]);
  const listening = await receiver.waitForEvent('listening');
  const ports = names.length === 1
    ? { [names[0]!]: Number(listening.port) }
    : Object.fromEntries(events(receiver.stderr()).filter((e) => e.event === 'link-listening').map((e) => [String(e.link), Number(e.port)]));
  return Object.assign(receiver, { ports });
}

async function readStatus(state: string): Promise<Status> {
  return JSON.parse(await readFile(path.join(state, 'status.json'), 'utf8')) as Status;
}

async function tree(t: import('node:test').TestContext) {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  // Many small files and a few larger ones: every file has frames on both sides of each loss pattern.
  const files: Record<string, number> = { 'big/a.bin': 400_000, 'big/b.bin': 150_000 };
  for (let i = 0; i < 40; i++) files[`small/f${i}.txt`] = 1000 + i * 97;
  await makeTree(src, files);
  return { root, src };
}

test('mistakes with several links are one-line errors, exit 1', { timeout: 30_000 }, async (t) => {
  const root = await tempDir(t);
  const cases: [string, string[], RegExp][] = [
    [SEND_CLI, [root, '--to', 'udp://127.0.0.1:9', '--stripe'], /--stripe needs --to at least twice/],
    [SEND_CLI, [root, '--to', 'a=udp://127.0.0.1:9', '--to', 'a=udp://127.0.0.1:10'], /link name 'a' is given twice/],
    [RECEIVE_CLI, [path.join(root, 'd'), '--listen', '-', '--listen', 'x=-'], /'-' \(stdio\) can be only one/],
    [RECEIVE_CLI, [path.join(root, 'd'), '--listen', 'a=udp://127.0.0.1:0', '--listen', 'a=tcp-listen://127.0.0.1:0'], /link name 'a' is given twice/],
  ];
  for (const [cli, args, message] of cases) {
    const { code, stderr } = await start(cli, args).exited;
    assert.equal(code, 1, stderr);
    assert.match(stderr, message);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
  }
});

test('two links each losing a fifth of the frames (different ones), no FEC, R=1: together the mirror is complete, alone it is not', { timeout: 120_000 }, async (t) => {
  const { root, src } = await tree(t);
  const dest = path.join(root, 'dest');
  const state = path.join(root, 'state');
  const receiver = await startLinkedReceiver(dest, state, ['A', 'B'], ['--exit-when-synced', '--timeout', '40']);
  t.after(() => receiver.kill('SIGKILL'));
  // The same stream reaches both relays; each drops one datagram in five, at a different place.
  const relayA = await startImpairRelay(receiver.ports.A!, ['--burst', '1/5']);
  const relayB = await startImpairRelay(receiver.ports.B!, ['--burst', '1/5+2']);
  t.after(() => (relayA.kill('SIGKILL'), relayB.kill('SIGKILL')));
  const sender = start(SEND_CLI, [src, '--to', `A=udp://127.0.0.1:${relayA.port}`, '--to', `B=udp://127.0.0.1:${relayB.port}`, ...BARE]);
  t.after(() => sender.kill('SIGKILL'));
  assert.equal((await sender.exited).code, 0, sender.stderr());
  const received = await receiver.exited;
  assert.equal(received.code, 0, received.stderr);
  assert.deepEqual(await treeDifferences(src, dest), []);
  const [lostA, lostB] = [await stopImpairRelay(relayA), await stopImpairRelay(relayB)];
  assert.ok(lostA.lostBurst! > 100 && lostB.lostBurst! > 100, `relays lost ${lostA.lostBurst} and ${lostB.lostBurst}`);

  const status = await readStatus(state);
  const [a, b] = status.links;
  assert.deepEqual(status.links.map((l) => l.name), ['A', 'B']);
  // Each link's own estimate sees its fifth (less a frame or two at its ends); the receiver lost nothing.
  for (const [link, relay] of [[a!, lostA], [b!, lostB]] as const) {
    assert.ok(Math.abs(link.framesLost - relay.lostBurst!) <= 2, `${link.name}: estimated ${link.framesLost}, relay dropped ${relay.lostBurst}`);
    assert.ok(link.counters.heartbeats > 0);
  }
  assert.equal(status.framesLost, 0, 'no frame missing from both links');
  assert.equal(status.counters.framesReceived, a!.counters.framesReceived + b!.counters.framesReceived);
  assert.equal(status.counters.duplicateFrames, a!.counters.duplicateFrames + b!.counters.duplicateFrames);
  assert.ok(status.counters.duplicateFrames > status.counters.framesReceived / 3, 'most frames came twice and were used once');
  const human = await start(RECEIVE_CLI, ['status', '--state', state]).exited;
  assert.match(human.stdout, /^link A +\S+, \d+ frames .*~\d+ lost/m);
  assert.match(human.stdout, /^link B /m);

  // The control: the same run over link A alone leaves files missing.
  const dest1 = path.join(root, 'dest1');
  const alone = await startLinkedReceiver(dest1, path.join(root, 'state1'), ['A'], ['--exit-when-synced', '--timeout', '8']);
  t.after(() => alone.kill('SIGKILL'));
  const relay1 = await startImpairRelay(alone.ports.A!, ['--burst', '1/5']);
  t.after(() => relay1.kill('SIGKILL'));
  const sender1 = start(SEND_CLI, [src, '--to', `udp://127.0.0.1:${relay1.port}`, ...BARE]);
  t.after(() => sender1.kill('SIGKILL'));
  assert.equal((await sender1.exited).code, 0);
  assert.equal((await alone.exited).code, 2, 'one link alone is not enough');
  assert.notDeepEqual(await treeDifferences(src, dest1), []);
});

test('a mix of kinds: a lossy UDP link and a TCP link, copies, complete; each link counted on its own', { timeout: 90_000 }, async (t) => {
  const { root, src } = await tree(t);
  const dest = path.join(root, 'dest');
  const state = path.join(root, 'state');
  const receiver = start(RECEIVE_CLI, [dest, '--state', state, '--listen', 'U=udp://127.0.0.1:0', '--listen', 'T=tcp-listen://127.0.0.1:0', '--exit-when-synced', '--timeout', '40']);
  t.after(() => receiver.kill('SIGKILL'));
  await receiver.waitForEvent('listening');
  const ports = Object.fromEntries(events(receiver.stderr()).filter((e) => e.event === 'link-listening').map((e) => [String(e.link), Number(e.port)]));
  const relay = await startImpairRelay(ports.U!, ['--burst', '1/5']);
  t.after(() => relay.kill('SIGKILL'));
  const sender = start(SEND_CLI, [src, '--to', `U=udp://127.0.0.1:${relay.port}`, '--to', `T=tcp://127.0.0.1:${ports.T}`, ...BARE]);
  t.after(() => sender.kill('SIGKILL'));
  const sent = await sender.exited;
  assert.equal(sent.code, 0, sent.stderr);
  const received = await receiver.exited;
  assert.equal(received.code, 0, received.stderr);
  assert.deepEqual(await treeDifferences(src, dest), []);
  const status = await readStatus(state);
  const [u, tcp] = status.links;
  assert.deepEqual(status.links.map((l) => l.name), ['U', 'T']);
  assert.ok(u!.framesLost > 0, 'the UDP link lost frames');
  assert.equal(tcp!.framesLost, 0);
  assert.ok(tcp!.counters.framesReceived > u!.counters.framesReceived, `T ${tcp!.counters.framesReceived} > U ${u!.counters.framesReceived}`);
  assert.equal(status.counters.framesReceived, u!.counters.framesReceived + tcp!.counters.framesReceived, 'stream frames reach the totals too');
});

test('the sender: a TCP link whose appliance is down does not stop the run; the UDP link completes it and the TCP link is reported', { timeout: 90_000 }, async (t) => {
  const { root, src } = await tree(t);
  const dest = path.join(root, 'dest');
  const receiver = await startLinkedReceiver(dest, path.join(root, 'state'), ['A'], ['--exit-when-synced', '--timeout', '40']);
  t.after(() => receiver.kill('SIGKILL'));
  // Nothing listens on the TCP port: the receiver's own UDP port, as TCP, is as dead as any.
  const started = Date.now();
  const sender = start(SEND_CLI, [src, '--to', `A=udp://127.0.0.1:${receiver.ports.A}`, '--to', `B=tcp://127.0.0.1:${receiver.ports.A}`, ...BARE]);
  t.after(() => sender.kill('SIGKILL'));
  const sent = await sender.exited;
  assert.equal(sent.code, 0, sent.stderr);
  assert.ok(Date.now() - started < 30_000, 'the run does not wait for the dead link to give up');
  assert.equal((await receiver.exited).code, 0);
  assert.deepEqual(await treeDifferences(src, dest), []);
  const done = Object.fromEntries(events(sent.stderr).filter((e) => e.event === 'link-done').map((e) => [String(e.link), e]));
  assert.equal(done.B!.frames, 0);
  assert.ok(Number(done.B!.missed) > 0 && done.B!.up === false, JSON.stringify(done.B));
  assert.ok(Number(done.A!.frames) > 0);
});

test('--stripe over two links: each carries about half, each judged on its own share, and the mirror is complete', { timeout: 90_000 }, async (t) => {
  const { root, src } = await tree(t);
  const dest = path.join(root, 'dest');
  const state = path.join(root, 'state');
  const receiver = await startLinkedReceiver(dest, state, ['A', 'B'], ['--exit-when-synced', '--timeout', '40']);
  t.after(() => receiver.kill('SIGKILL'));
  const sender = start(SEND_CLI, [src, '--to', `A=udp://127.0.0.1:${receiver.ports.A}`, '--to', `B=udp://127.0.0.1:${receiver.ports.B}`, '--stripe', ...BARE]);
  t.after(() => sender.kill('SIGKILL'));
  const sent = await sender.exited;
  assert.equal(sent.code, 0, sent.stderr);
  const received = await receiver.exited;
  assert.equal(received.code, 0, received.stderr);
  assert.deepEqual(await treeDifferences(src, dest), []);
  const status = await readStatus(state);
  const [a, b] = status.links;
  const total = a!.counters.framesReceived + b!.counters.framesReceived;
  for (const link of [a!, b!]) {
    assert.ok(Math.abs(link.counters.framesReceived / total - 0.5) < 0.05, `${link.name} carried ${link.counters.framesReceived} of ${total}`);
    assert.equal(link.framesLost, 0, `${link.name}: a stripe's share is not a loss`);
    assert.ok(link.counters.heartbeats > 0, 'heartbeats go on every link');
  }
  const done = events(sent.stderr).filter((e) => e.event === 'link-done');
  assert.deepEqual(done.map((e) => e.link), ['A', 'B']);
});

test('one of two links goes quiet: the alert names it, the metrics show it, and the run completes on the other', { timeout: 90_000 }, async (t) => {
  const { root, src } = await tree(t);
  const dest = path.join(root, 'dest');
  const state = path.join(root, 'state');
  const alerts = path.join(root, 'alerts.log');
  const receiver = await startLinkedReceiver(dest, state, ['A', 'B'], [
    '--exit-when-synced', '--timeout', '60', '--metrics', '127.0.0.1:0', '--on-alert', `echo "$DIODESYNC_EVENT $DIODESYNC_LINK" >> '${alerts}'`,
  ]);
  t.after(() => receiver.kill('SIGKILL'));
  const metricsPort = Number((await receiver.waitForEvent('listening')).metricsPort);
  const relayA = await startImpairRelay(receiver.ports.A!, []);
  const relayB = await startImpairRelay(receiver.ports.B!, []);
  t.after(() => (relayA.kill('SIGKILL'), relayB.kill('SIGKILL')));
  // Slow enough (about 8 s) that link B can die in the middle of the transfer.
  const sender = start(SEND_CLI, [src, '--to', `A=udp://127.0.0.1:${relayA.port}`, '--to', `B=udp://127.0.0.1:${relayB.port}`, '--heartbeat', '0.2', '--once', '--fec', '0', '-R', '1', '--rate', '800k']);
  t.after(() => sender.kill('SIGKILL'));
  for (const end = Date.now() + 15_000; ; await sleep(100)) {
    const links = await readStatus(state).then((s) => s.links, () => []);
    if (links.length === 2 && links.every((l) => l.state === 'up')) break;
    assert.ok(Date.now() < end, 'both links up');
  }
  await stopImpairRelay(relayB);
  const down = await receiver.waitForEvent('link-down', 10_000);
  assert.equal(down.link, 'B');
  await sleep(500);
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  assert.match(metrics, /^diodesync_link_up\{link="A"\} 1$/m);
  assert.match(metrics, /^diodesync_link_up\{link="B"\} 0$/m);
  assert.match(metrics, /^diodesync_link_frames_received_total\{link="B"\} [1-9]/m);
  assert.match(metrics, /^diodesync_link_up 1$/m, 'the receiver still hears its sender');

  const received = await receiver.exited;
  assert.equal(received.code, 0, received.stderr);
  assert.deepEqual(await treeDifferences(src, dest), []);
  assert.equal((await sender.exited).code, 0);
  await sleep(200);
  const lines = (await readFile(alerts, 'utf8')).trim().split('\n');
  assert.equal(lines[0], 'link-down B', lines.join(' | '));
  assert.ok(!lines.includes('link-down A'), lines.join(' | '));
});
