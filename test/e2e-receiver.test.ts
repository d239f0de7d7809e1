import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FrameType, HEADER_LAYOUT, HEADER_SIZE } from '@diodesync/protocol';
import { RECEIVE_CLI, SEND_CLI, events, runSender, start, startReceiver } from './lib/cli.js';
import { headerField } from './lib/header.js';
import { startRelay } from './lib/relay.js';
import { makeTree, tempDir, treeDifferences } from './lib/tree.js';

const isData = (d: Buffer) => headerField(d, 'type') === FrameType.Data;
const chunkOf = (d: Buffer) => headerField(d, 'chunkIndex');

test('frames shuffled and duplicated still assemble into the exact tree', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  await makeTree(src, { 'a.bin': 300_000, 'b/c.bin': 100_000, 'd.txt': 'd\n' });
  const receiver = await startReceiver(dest, ['--exit-when-synced', '--timeout', '30']);
  t.after(() => receiver.kill('SIGKILL'));
  // Hold datagrams back and release them in a scrambled order, some twice.
  const held: Buffer[] = [];
  const relay = await startRelay(receiver.port, (d, i) => {
    held.push(Buffer.from(d));
    if (i % 7 === 0) held.push(Buffer.from(d));
    if (held.length < 40) return null;
    return held.splice(Math.floor(((i * 2654435761) >>> 0) % held.length), 1)[0]!;
  });
  t.after(() => relay.close());
  const sent = await runSender(src, `udp://127.0.0.1:${relay.port}`, ['--once', '--rate', '50m', '-R', '3']);
  assert.equal(sent.code, 0, sent.stderr);
  const received = await receiver.exited;
  assert.equal(received.code, 0, received.stderr);
  assert.deepEqual(await treeDifferences(src, dest), []);
});

test('a receiver killed in the middle of a file keeps what it had and completes from the next pass', { timeout: 90_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  const size = 1424 * 400;
  await makeTree(src, { 'big.bin': size });
  const half = 200;
  // Phase 1 lets only the first half of the chunks through; phase 2 only the second half.
  let phase = 1;
  const first = await startReceiver(dest, []);
  t.after(() => first.kill('SIGKILL'));
  // Object 1 of each sender run is big.bin; its manifest (a later object) passes untouched.
  const ofBigFile = (d: Buffer) => isData(d) && headerField(d, 'objectId') === 1;
  const relay = await startRelay(first.port, (d) => (ofBigFile(d) && (phase === 1 ? chunkOf(d) >= half : chunkOf(d) < half) ? null : d));
  t.after(() => relay.close());
  assert.equal((await runSender(src, `udp://127.0.0.1:${relay.port}`, ['--once', '--rate', '50m', '-R', '1'])).code, 0);
  await sleep(1_500); // past one checkpoint
  first.kill('SIGKILL');
  await first.exited;
  assert.ok(!existsSync(path.join(dest, 'big.bin')));

  // Same port: the relay keeps forwarding there.
  const second = start(RECEIVE_CLI, [dest, '--listen', `udp://127.0.0.1:${first.port}`, '--exit-when-synced', '--timeout', '30']);
  t.after(() => second.kill('SIGKILL'));
  const restored = await second.waitForEvent('partials-restored');
  assert.equal(restored.objects, 1);
  phase = 2;
  assert.equal((await runSender(src, `udp://127.0.0.1:${relay.port}`, ['--once', '--rate', '50m', '-R', '1'])).code, 0);
  const received = await second.exited;
  assert.equal(received.code, 0, received.stderr);
  assert.deepEqual(await treeDifferences(src, dest), []);
});

test('a burst that overflows the receiver buffer is counted and repaired by later passes', { timeout: 90_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  await makeTree(src, Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`f${i}.bin`, 2_000_000])));
  // 128 KiB for chunks not yet on disk: a 1 Gb/s burst cannot fit. 16 passes, as a busy machine
  // (CI shares 2 cores) may keep fewer chunks of each.
  const receiver = await startReceiver(dest, ['--exit-when-synced', '--timeout', '60', '--max-buffer', '128k']);
  t.after(() => receiver.kill('SIGKILL'));
  const sent = await runSender(src, `udp://127.0.0.1:${receiver.port}`, ['--once', '--rate', '1g', '-R', '16', '--pass-interval', '0.5']);
  assert.equal(sent.code, 0, sent.stderr);
  const received = await receiver.exited;
  const exit = events(received.stderr).find((e) => e.event === 'exit')!;
  assert.ok(Number(exit.queueOverflow) > 0, `expected overflow drops: ${JSON.stringify(exit)}`);
  assert.equal(received.code, 0, received.stderr);
  assert.deepEqual(await treeDifferences(src, dest), []);
});

test('status and metrics show injected faults: corrupt frames by reason, frames lost on the link', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  const state = path.join(root, 'state');
  await makeTree(src, { 'x.bin': 200_000 });
  const receiver = await startReceiver(dest, ['--state', state, '--metrics', '127.0.0.1:0']);
  t.after(() => receiver.kill('SIGKILL'));
  const metricsPort = Number((await receiver.waitForEvent('listening')).metricsPort);
  const relay = await startRelay(receiver.port, (d, i) => {
    if (i % 50 === 10) return null; // lost on the link
    if (i % 50 === 20) d[HEADER_SIZE + 12]! ^= 1; // payload bit flip
    if (i % 50 === 30) d[HEADER_LAYOUT.sessionId.offset]! ^= 1; // header bit flip
    return d;
  });
  t.after(() => relay.close());
  assert.equal((await runSender(src, `udp://127.0.0.1:${relay.port}`, ['--once', '--rate', '50m', '-R', '2'])).code, 0);
  await sleep(1_500); // one status write
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  assert.match(metrics, /diodesync_frames_dropped_total\{reason="payload-crc"\} [1-9]/);
  assert.match(metrics, /diodesync_frames_dropped_total\{reason="header-crc"\} [1-9]/);
  receiver.kill('SIGTERM');
  assert.equal((await receiver.exited).code, 0);
  const status = await start(RECEIVE_CLI, ['status', '--state', state, '--json']).exited;
  assert.equal(status.code, 0, status.stderr);
  const s = JSON.parse(status.stdout);
  assert.equal(s.running, false);
  assert.ok(s.counters.framing['payload-crc'] > 0);
  assert.ok(s.counters.framing['header-crc'] > 0);
  // Dropped frames and frames whose header was damaged both leave holes in the sequence.
  assert.ok(s.framesLost >= relay.dropped, `lost ${s.framesLost} >= dropped ${relay.dropped}`);
  const human = await start(RECEIVE_CLI, ['status', '--state', state]).exited;
  assert.match(human.stdout, /bad frames +.*payload-crc [1-9]/);
});

test('watchdog: silent sender -> link down and the alert command runs; back -> link up, sender restart', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  const alerts = path.join(root, 'alerts.log');
  await makeTree(src, { 'x.txt': 'x\n' });
  const receiver = await startReceiver(dest, ['--on-alert', `echo "$DIODESYNC_EVENT" >> '${alerts}'`]);
  t.after(() => receiver.kill('SIGKILL'));
  const to = `udp://127.0.0.1:${receiver.port}`;
  const first = start(SEND_CLI, [src, '--to', to, '--heartbeat', '0.2']);
  t.after(() => first.kill('SIGKILL'));
  await sleep(1_000);
  first.kill('SIGKILL');
  await receiver.waitForEvent('link-down', 10_000);
  const second = start(SEND_CLI, [src, '--to', to, '--heartbeat', '0.2']);
  t.after(() => second.kill('SIGKILL'));
  await receiver.waitForEvent('link-up', 10_000);
  await receiver.waitForEvent('sender-restart', 10_000);
  second.kill('SIGTERM');
  assert.equal((await second.exited).code, 0, 'SIGTERM stops the sender cleanly');
  await sleep(300);
  assert.deepEqual((await readFile(alerts, 'utf8')).trim().split('\n').slice(0, 3).sort(), ['link-down', 'link-up', 'sender-restart']);
});
