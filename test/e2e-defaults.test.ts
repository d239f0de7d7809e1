import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { RECEIVE_CLI, SEND_CLI, events, start } from './lib/cli.js';
import { makeTree, tempDir } from './lib/tree.js';

/** Defaults that work as a service: one ledger per source tree, receiver state under the state root, upgrades lose nothing. */

async function send(src: string, env: NodeJS.ProcessEnv, args: string[] = []): Promise<Record<string, unknown>[]> {
  const { code, stderr } = await start(SEND_CLI, [src, '--to', 'udp://127.0.0.1:9', '--once', '--settle', '0', '-R', '1', ...args], env).exited;
  assert.equal(code, 0, stderr);
  return events(stderr);
}

async function ledgerList(env: NodeJS.ProcessEnv, args: string[]): Promise<string[]> {
  const { code, stdout, stderr } = await start(SEND_CLI, ['ledger', 'list', '--json', ...args], env).exited;
  assert.equal(code, 0, stderr);
  return (JSON.parse(stdout) as { path: string }[]).map((v) => v.path).sort();
}

test('sender: with the default state each source tree gets its own ledger, and `ledger` finds it by --source', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const env = { XDG_STATE_HOME: path.join(root, 'xdg') };
  await makeTree(path.join(root, 'a'), { 'one.txt': '1\n' });
  await makeTree(path.join(root, 'b'), { 'two.txt': '2\n', 'three.txt': '3\n' });
  await send(path.join(root, 'a'), env);
  await send(path.join(root, 'b'), env); // refused before: "the ledger records the source A, not B"
  const ledgers = (await readdir(path.join(root, 'xdg', 'diodesync', 'ledgers'))).sort();
  assert.equal(ledgers.length, 2);
  assert.match(ledgers[0]!, /^a-[0-9a-f]{16}\.sqlite$/);
  assert.match(ledgers[1]!, /^b-[0-9a-f]{16}\.sqlite$/);
  assert.deepEqual(await ledgerList(env, ['--source', path.join(root, 'a')]), ['one.txt']);
  assert.deepEqual(await ledgerList(env, ['--source', path.join(root, 'b')]), ['three.txt', 'two.txt']);

  const which = await start(SEND_CLI, ['ledger', 'list'], env).exited;
  assert.equal(which.code, 1);
  assert.match(which.stderr, /^diode-send: error: 2 ledgers under .*: say which with --source DIR \(or --ledger FILE\)\n$/);
  const help = await start(SEND_CLI, ['--help'], env).exited;
  assert.match(help.stdout.replace(/\s+/g, ' '), /STATE_DIRECTORY/);
  assert.match(help.stdout.replace(/\s+/g, ''), /<state>\/ledgers\/<name>-<hashofitsrealpath>\.sqlite/);
});

test('sender: an existing <state>/ledger.sqlite keeps serving the tree it records (with a log line); another tree gets its own', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const state = path.join(root, 'state');
  const a = path.join(root, 'a');
  const b = path.join(root, 'b');
  await makeTree(a, { 'one.txt': '1\n', 'two.txt': '2\n' });
  await makeTree(b, { 'other.txt': 'x\n' });
  await send(a, {}, ['--ledger', path.join(state, 'ledger.sqlite')]); // the old default layout
  const resumed = await send(a, {}, ['--state', state, '--resume']);
  const legacy = resumed.find((e) => e.event === 'ledger-legacy');
  assert.equal(legacy?.ledger, path.join(state, 'ledger.sqlite'));
  assert.equal(legacy?.level, 'warn');
  assert.deepEqual(resumed.filter((e) => e.event === 'file-sent'), [], 'its history was kept: nothing to resend');
  const other = await send(b, {}, ['--state', state]);
  assert.ok(!other.some((e) => e.event === 'ledger-legacy'));
  assert.equal((await readdir(path.join(state, 'ledgers'))).length, 1);
  assert.deepEqual(await ledgerList({}, ['--state', state, '--source', a]), ['one.txt', 'two.txt']);
  assert.deepEqual(await ledgerList({}, ['--state', state, '--source', b]), ['other.txt']);
});

test('sender: under systemd the ledgers live in $STATE_DIRECTORY', { timeout: 30_000 }, async (t) => {
  const root = await tempDir(t);
  await makeTree(path.join(root, 'src'), { 'f.txt': 'f\n' });
  const env = { STATE_DIRECTORY: path.join(root, 'sd'), XDG_STATE_HOME: path.join(root, 'xdg') };
  await send(path.join(root, 'src'), env);
  assert.equal((await readdir(path.join(root, 'sd', 'ledgers'))).length, 1);
  assert.ok(!existsSync(path.join(root, 'xdg')));
});

/** Starts a receiver with its default state (no --state) and returns the state it chose and its log. */
async function receiverState(dest: string, env: NodeJS.ProcessEnv): Promise<{ state: string; log: Record<string, unknown>[] }> {
  const receiver = start(RECEIVE_CLI, [dest, '--listen', 'udp://127.0.0.1:0', '--state=default'], env);
  try {
    const listening = await receiver.waitForEvent('listening');
    return { state: String(listening.state), log: events(receiver.stderr()) };
  } finally {
    receiver.kill('SIGTERM');
    await receiver.exited;
  }
}

test('receiver: default state under the XDG state dir or $STATE_DIRECTORY, keyed by dest; an old .<dest>.diodesync is kept', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const xdg = path.join(root, 'xdg');
  const one = await receiverState(path.join(root, 'x', 'dest'), { XDG_STATE_HOME: xdg });
  assert.match(one.state, new RegExp(`^${path.join(xdg, 'diodesync')}/dest-[0-9a-f]{16}$`));
  assert.ok(existsSync(one.state));
  assert.ok(!existsSync(path.join(root, 'x', '.dest.diodesync')), "nothing is written in dest's parent");
  // Same name, another directory: another state.
  const two = await receiverState(path.join(root, 'y', 'dest'), { XDG_STATE_HOME: xdg });
  assert.notEqual(two.state, one.state);
  assert.equal((await receiverState(path.join(root, 'x', 'dest'), { XDG_STATE_HOME: xdg })).state, one.state, 'the same mirror finds its state again');

  const sd = path.join(root, 'sd');
  const service = await receiverState(path.join(root, 'x', 'dest'), { STATE_DIRECTORY: sd, XDG_STATE_HOME: xdg });
  assert.equal(path.dirname(service.state), sd);
  assert.equal(path.basename(service.state), path.basename(one.state));

  await mkdir(path.join(root, 'z', '.dest.diodesync'), { recursive: true });
  const old = await receiverState(path.join(root, 'z', 'dest'), { XDG_STATE_HOME: xdg });
  assert.equal(old.state, path.join(root, 'z', '.dest.diodesync'));
  const said = old.log.find((e) => e.event === 'state-legacy');
  assert.equal(said?.level, 'warn');
  assert.equal(said?.state, old.state);
});
