import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { appendFile, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SEND_CLI, events, runSender, start, startReceiver } from './lib/cli.js';
import { makeTree, tempDir, treeDifferences } from './lib/tree.js';

/** Polls `check` every 50 ms until it returns true; returns the time it took. */
async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
  return Date.now() - started;
}

const sameBytes = async (a: string, b: string) => existsSync(b) && (await readFile(a)).equals(await readFile(b));

test('watch mode: a new file arrives within settle + 2 s; poll mode sees changes without events', { timeout: 60_000 }, async (t) => {
  // Events with a slow rescan; then polling with no rescan to speak of, so only the poll can see the file.
  for (const mode of [['--rescan', '30'], ['--poll', '100', '--rescan', '3600']]) {
    const root = await tempDir(t);
    const src = path.join(root, 'src');
    const dest = path.join(root, 'dest');
    await makeTree(src, { 'seed.txt': 'seed\n' });
    const receiver = await startReceiver(dest, []);
    t.after(() => receiver.kill('SIGKILL'));
    const sender = start(SEND_CLI, [src, '--to', `udp://127.0.0.1:${receiver.port}`, '--settle', '500', '-R', '1', ...mode]);
    t.after(() => sender.kill('SIGKILL'));
    await until(() => existsSync(path.join(dest, 'seed.txt')), 10_000, 'the initial tree').catch((err: Error) => {
      throw new Error(`${err.message}\nsender: ${sender.stderr()}\nreceiver: ${receiver.stderr()}`);
    });
    await writeFile(path.join(src, 'new.txt'), 'created while watching\n');
    const latency = await until(() => sameBytes(path.join(src, 'new.txt'), path.join(dest, 'new.txt')), 10_000, 'the new file');
    assert.ok(latency < 2_500, `arrived after ${latency} ms (${mode.join(' ') || 'events'})`);
    sender.kill('SIGTERM');
    assert.equal((await sender.exited).code, 0);
    receiver.kill('SIGTERM');
    await receiver.exited;
  }
});

test('a file appended to during its send never arrives torn, and its final version arrives', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  // Bigger than what the sender reads ahead (the FEC interleaver holds ~450 KB), so the read is still going.
  await makeTree(src, { 'growing.log': 2_000_000 });
  const original = await readFile(path.join(src, 'growing.log'));
  const receiver = await startReceiver(dest, []);
  t.after(() => receiver.kill('SIGKILL'));
  // No settling, and a slow link: the append lands while the file is on the wire.
  const sender = start(SEND_CLI, [src, '--to', `udp://127.0.0.1:${receiver.port}`, '--settle', '0', '--rate', '8m', '-R', '1', '--rescan', '1']);
  t.after(() => sender.kill('SIGKILL'));
  await sender.waitForEvent('start');
  await sleep(400);
  await appendFile(path.join(src, 'growing.log'), 'appended while sending\n');
  // Until the final version lands, the mirror holds nothing or one whole version: never a mix.
  const final = await readFile(path.join(src, 'growing.log'));
  await until(async () => {
    if (!existsSync(path.join(dest, 'growing.log'))) return false;
    const got = await readFile(path.join(dest, 'growing.log'));
    assert.ok(got.equals(final) || got.equals(original), `torn file in the mirror (${got.length} bytes)`);
    return got.equals(final);
  }, 20_000, 'the final version');
  assert.ok(events(sender.stderr()).some((e) => e.event === 'file-changed'), 'the sender noticed the change mid-send');
});

test('rate limit: 10 Mb/s on the wire within 5%', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  await makeTree(root, { 'payload.bin': 3_000_000 });
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.after(() => socket.close());
  let first = 0;
  let last = 0;
  let bytes = 0;
  let lastSize = 0;
  socket.on('message', (m) => {
    const now = performance.now();
    if (!first) first = now;
    else bytes += lastSize; // count what was sent between the first and the last datagram
    last = now;
    lastSize = m.length;
  });
  const sent = await runSender(root, `udp://127.0.0.1:${socket.address().port}`, ['--once', '--rate', '10m', '-R', '1']);
  assert.equal(sent.code, 0, sent.stderr);
  const rate = (bytes * 8) / ((last - first) / 1000);
  assert.ok(Math.abs(rate - 10e6) / 10e6 < 0.05, `measured ${(rate / 1e6).toFixed(3)} Mb/s`);
});

test('--delete: a deleted file goes to quarantine on the receiver, a renamed file is renamed, not resent', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  const state = path.join(root, 'recv-state');
  await makeTree(src, { 'keep.txt': 'keep\n', 'old/doomed.txt': 'doomed\n', 'moving.bin': 100_000 });
  const receiver = await startReceiver(dest, ['--state', state, '--apply-deletes']);
  t.after(() => receiver.kill('SIGKILL'));
  const sender = start(SEND_CLI, [src, '--to', `udp://127.0.0.1:${receiver.port}`, '--delete', '--settle', '0', '--rescan', '0.5', '-R', '2']);
  t.after(() => sender.kill('SIGKILL'));
  await until(async () => (await treeDifferences(src, dest)).length === 0, 20_000, 'the initial mirror');

  await rm(path.join(src, 'old'), { recursive: true });
  await rename(path.join(src, 'moving.bin'), path.join(src, 'moved.bin'));
  await until(async () => (await treeDifferences(src, dest)).length === 0, 20_000, 'the delete and the rename').catch(async (err: Error) => {
    const interesting = (log: string) => log.split('\n').filter((l) => !l.includes('heartbeat')).join('\n');
    throw new Error(`${err.message}: ${(await treeDifferences(src, dest)).join(', ')}\nsender:\n${interesting(sender.stderr())}\nreceiver:\n${interesting(receiver.stderr())}`);
  });
  assert.ok(!existsSync(path.join(dest, 'old')), 'the emptied directory is removed too');
  const quarantined = await readdir(path.join(state, 'quarantine'));
  assert.equal(quarantined.length, 1);
  assert.equal(await readFile(path.join(state, 'quarantine', quarantined[0]!, 'old', 'doomed.txt'), 'utf8'), 'doomed\n');
  const sends = events(sender.stderr()).filter((e) => e.event === 'file-sent').map((e) => e.path);
  assert.ok(!sends.includes('moved.bin'), `the renamed file was not sent again: ${sender.stderr()}`);
  assert.ok(events(receiver.stderr()).some((e) => e.event === 'change-renamed'));
});

test('--once with a file still being written: no manifest without it, so a synced receiver has it', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  await makeTree(src, { 'old.txt': 'settled long ago\n' });
  await writeFile(path.join(src, 'fresh.txt'), 'just written\n'); // mtime now: settles in 1 s
  const receiver = await startReceiver(dest, ['--exit-when-synced', '--timeout', '20']);
  t.after(() => receiver.kill('SIGKILL'));
  const sent = await runSender(src, `udp://127.0.0.1:${receiver.port}`, ['--once', '--settle', '1000', '-R', '1']);
  assert.equal(sent.code, 0, sent.stderr);
  assert.equal((await receiver.exited).code, 0);
  assert.deepEqual(await treeDifferences(src, dest), []);
});
