import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { RECEIVE_CLI, SEND_CLI, events, runSender, start } from './lib/cli.js';
import { makeTree, tempDir, treeDifferences } from './lib/tree.js';

const TREE = { 'a.txt': 'alpha\n', 'sub/b.bin': 200_000, 'sub/deeper/c.bin': 70_000, 'empty': '' };

test('stdio: sender stdout piped into receiver stdin mirrors the tree', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  await makeTree(src, TREE);
  const env = { ...process.env, DIODESYNC_LOG: 'json' };
  const sender = spawn(process.execPath, [SEND_CLI, src, '--to', '-', '--once', '--rate', '200m', '-R', '1', '--state', path.join(root, 'send-state')], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const receiver = spawn(process.execPath, [RECEIVE_CLI, dest, '--listen', '-', '--state', path.join(root, 'receive-state')], { stdio: ['pipe', 'ignore', 'pipe'], env });
  t.after(() => {
    sender.kill('SIGKILL');
    receiver.kill('SIGKILL');
  });
  sender.stdout.pipe(receiver.stdin);
  let log = '';
  receiver.stderr.on('data', (d) => (log += d));
  const [sendCode, receiveCode] = await Promise.all([
    new Promise((resolve) => sender.on('close', resolve)),
    new Promise((resolve) => receiver.on('close', resolve)),
  ]);
  assert.equal(sendCode, 0);
  assert.equal(receiveCode, 0, log);
  assert.equal(events(log).find((e) => e.event === 'exit')?.reason, 'end of input');
  assert.deepEqual(await treeDifferences(src, dest), []);
});

test('tcp-listen: the receiver accepts the sender (appliance high side pushing to us)', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  await makeTree(src, TREE);
  const receiver = start(RECEIVE_CLI, [dest, '--listen', 'tcp-listen://127.0.0.1:0', '--exit-when-synced', '--timeout', '30']);
  t.after(() => receiver.kill('SIGKILL'));
  const port = Number((await receiver.waitForEvent('listening')).port);
  const sent = await runSender(src, `tcp://127.0.0.1:${port}`, ['--once', '--rate', '200m', '-R', '1']);
  assert.equal(sent.code, 0, sent.stderr);
  assert.equal((await receiver.exited).code, 0, receiver.stderr());
  assert.deepEqual(await treeDifferences(src, dest), []);
});

test('tcp both ways through an "appliance" that corrupts the stream: the receiver re-aligns', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  await makeTree(src, TREE);
  // The appliance: low side accepts the sender, high side accepts the receiver, bytes flow one way.
  let highSide: net.Socket | undefined;
  const pending: Buffer[] = [];
  let injected = 0;
  const high = net.createServer((s) => {
    s.on('error', () => undefined); // the receiver hangs up when it is synced
    highSide = s;
    for (const b of pending.splice(0)) s.write(b);
  }).listen(0, '127.0.0.1');
  const low = net.createServer((s) => s.on('error', () => undefined).on('data', (chunk: Buffer) => {
    // Every 7th chunk gets garbage appended: bytes the deframer must skip.
    const out = injected++ % 7 === 3 ? Buffer.concat([chunk, Buffer.from('garbage between frames')]) : chunk;
    if (highSide) highSide.write(out);
    else pending.push(out);
  })).listen(0, '127.0.0.1');
  t.after(() => {
    highSide?.destroy();
    high.close();
    low.close();
  });
  await Promise.all([new Promise((r) => high.once('listening', r)), new Promise((r) => low.once('listening', r))]);
  const receiver = start(RECEIVE_CLI, [dest, '--listen', `tcp://127.0.0.1:${(high.address() as net.AddressInfo).port}`, '--exit-when-synced', '--timeout', '30']);
  t.after(() => receiver.kill('SIGKILL'));
  await receiver.waitForEvent('connected');
  const sent = await runSender(src, `tcp://127.0.0.1:${(low.address() as net.AddressInfo).port}`, ['--once', '--rate', '200m', '-R', '3']);
  assert.equal(sent.code, 0, sent.stderr);
  const received = await receiver.exited;
  assert.equal(received.code, 0, received.stderr);
  assert.deepEqual(await treeDifferences(src, dest), []);
});

test('multicast on loopback: group joined on lo only', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  await makeTree(src, TREE);
  const port = 36000 + Math.floor(Math.random() * 1000);
  const group = '239.255.42.99';
  const mc = start(RECEIVE_CLI, [dest, '--listen', `udp://${group}:${port}`, '--multicast-interface', '127.0.0.1', '--exit-when-synced', '--timeout', '30']);
  t.after(() => mc.kill('SIGKILL'));
  await mc.waitForEvent('listening');
  const sent = await runSender(src, `udp://${group}:${port}`, ['--once', '--rate', '100m', '-R', '2', '--multicast-interface', '127.0.0.1', '--ttl', '0']);
  assert.equal(sent.code, 0, sent.stderr);
  assert.equal((await mc.exited).code, 0, mc.stderr());
  assert.deepEqual(await treeDifferences(src, dest), []);
});
