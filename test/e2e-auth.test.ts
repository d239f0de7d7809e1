import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { RECEIVE_CLI, events, runSender, start, startReceiver } from './lib/cli.js';
import { writeKey } from './lib/keys.js';
import { makeTree, tempDir, treeDifferences } from './lib/tree.js';

const TREE = { 'a.bin': 200_000, 'd/b.txt': 'bee\n', 'empty': '' };

async function setup(t: import('node:test').TestContext) {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  await makeTree(src, TREE);
  return { root, src, dest: path.join(root, 'dest') };
}

for (const encrypt of [false, true]) {
  test(`with the same key on both sides${encrypt ? ' and --encrypt' : ''} the tree mirrors exactly`, { timeout: 60_000 }, async (t) => {
    const { root, src, dest } = await setup(t);
    const key = await writeKey(root, 'key');
    const flags = encrypt ? ['--key-file', key, '--encrypt'] : ['--key-file', key];
    const receiver = await startReceiver(dest, ['--exit-when-synced', '--timeout', '30', ...flags]);
    const sent = await runSender(src, `udp://127.0.0.1:${receiver.port}`, ['--once', '-R', '2', ...flags]);
    assert.equal(sent.code, 0, sent.stderr);
    const received = await receiver.exited;
    assert.equal(received.code, 0, received.stderr);
    assert.deepEqual(await treeDifferences(src, dest), []);
    assert.equal(events(received.stderr).find((e) => e.event === 'exit')!.authFailed, 0);
  });
}

test('a receiver with a key drops every frame of a sender with no key, or with another key, and writes nothing', { timeout: 60_000 }, async (t) => {
  const { root, src, dest } = await setup(t);
  const key = await writeKey(root, 'key');
  const wrong = await writeKey(root, 'wrong');
  for (const senderArgs of [[], ['--key-file', wrong], ['--key-file', wrong, '--encrypt']]) {
    const receiver = await startReceiver(dest, ['--exit-when-synced', '--timeout', '4', '--key-file', key]);
    const sent = await runSender(src, `udp://127.0.0.1:${receiver.port}`, ['--once', '-R', '1', ...senderArgs]);
    assert.equal(sent.code, 0, sent.stderr);
    const received = await receiver.exited;
    assert.equal(received.code, 2, 'incomplete: nothing was accepted');
    const exit = events(received.stderr).find((e) => e.event === 'exit')!;
    assert.ok(Number(exit.authFailed) > 0 && exit.authFailed === exit.frames, `every frame refused (${senderArgs.join(' ')}): ${JSON.stringify(exit)}`);
    assert.deepEqual(await readdir(dest), []);
  }
});

test('a receiver with --encrypt refuses frames that are only authenticated; a receiver with no key refuses encrypted ones', { timeout: 60_000 }, async (t) => {
  const { root, src, dest } = await setup(t);
  const key = await writeKey(root, 'key');
  const cases = [
    { recv: ['--key-file', key, '--encrypt'], send: ['--key-file', key] },
    { recv: [], send: ['--key-file', key, '--encrypt'] },
  ];
  for (const c of cases) {
    const receiver = await startReceiver(dest, ['--exit-when-synced', '--timeout', '4', ...c.recv]);
    const sent = await runSender(src, `udp://127.0.0.1:${receiver.port}`, ['--once', '-R', '1', ...c.send]);
    assert.equal(sent.code, 0, sent.stderr);
    const received = await receiver.exited;
    assert.equal(received.code, 2);
    const exit = events(received.stderr).find((e) => e.event === 'exit')!;
    assert.equal(exit.authFailed, exit.frames);
    assert.deepEqual(await readdir(dest), []);
  }
});

test('during a key rotation the receiver takes either key', { timeout: 60_000 }, async (t) => {
  const { root, src, dest } = await setup(t);
  const oldKey = await writeKey(root, 'old');
  const newKey = await writeKey(root, 'new');
  const receiver = await startReceiver(dest, ['--exit-when-synced', '--timeout', '30', '--key-file', oldKey, '--key-file', newKey]);
  const sent = await runSender(src, `udp://127.0.0.1:${receiver.port}`, ['--once', '-R', '2', '--key-file', newKey]);
  assert.equal(sent.code, 0, sent.stderr);
  assert.equal((await receiver.exited).code, 0);
  assert.deepEqual(await treeDifferences(src, dest), []);
});

test('a key file others can read, a short key, a missing file or --encrypt without a key is refused with one line, exit 1', { timeout: 30_000 }, async (t) => {
  const { root, src, dest } = await setup(t);
  const open = await writeKey(root, 'open', 0o644);
  const missing = path.join(root, 'nope');
  const short = path.join(root, 'short');
  await writeFile(short, randomBytes(16).toString('hex'), { mode: 0o600 });
  const cases: [string[], RegExp][] = [
    [['--key-file', open], /readable or writable by others: chmod 600 .*open$/m],
    [['--key-file', missing], /cannot read key file .*ENOENT/],
    [['--key-file', short], /key is 16 bytes; at least 32/],
    [['--encrypt'], /--encrypt needs --key-file/],
  ];
  for (const [args, message] of cases) {
    const recv = await start(RECEIVE_CLI, [dest, '--listen', 'udp://127.0.0.1:0', ...args]).exited;
    assert.equal(recv.code, 1, recv.stderr);
    assert.match(recv.stderr.trim(), message);
    assert.equal(recv.stderr.trim().split('\n').length, 1);
    const sent = await runSender(src, 'udp://127.0.0.1:9', ['--once', ...args]);
    assert.equal(sent.code, 1, sent.stderr);
    assert.match(sent.stderr.trim(), message);
  }
});
