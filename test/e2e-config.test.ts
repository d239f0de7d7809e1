import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { RECEIVE_CLI, SEND_CLI, start } from './lib/cli.js';
import { makeTree, tempDir, treeDifferences } from './lib/tree.js';

/** Runs a CLI that must fail: exit 1 and one line on stderr matching `pattern`, no stack. */
async function expectOneLineError(cli: string, args: string[], pattern: RegExp): Promise<void> {
  const { code, stderr } = await start(cli, args).exited;
  assert.equal(code, 1, `${args.join(' ')}: ${stderr}`);
  assert.equal(stderr.trim().split('\n').length, 1, `one line, got: ${stderr}`);
  assert.match(stderr, pattern);
  assert.doesNotMatch(stderr, /\bat .*\.js:\d+/, 'no stack trace');
}

test('--config: a missing or malformed file, or no source or destination, is named on one line, exit 1', { timeout: 60_000 }, async (t) => {
  const dir = await tempDir(t);
  const missing = path.join(dir, 'missing.json');
  await expectOneLineError(SEND_CLI, ['--config', missing], /^diode-send: error: config file not found: .*missing\.json$/m);
  await expectOneLineError(SEND_CLI, [dir, '--config', missing], /config file not found: .*missing\.json/);
  await expectOneLineError(RECEIVE_CLI, ['--config', missing], /^diode-receive: error: config file not found: .*missing\.json$/m);
  const bad = path.join(dir, 'bad.json');
  await writeFile(bad, '{\n  // a comment is fine\n  "to": "udp://127.0.0.1:9"\n  "once": true\n}\n');
  await expectOneLineError(SEND_CLI, ['--config', bad], /config file .*bad\.json: invalid JSON: line 4 column 3/);
  await writeFile(bad, '{ "listen": "udp://127.0.0.1:0", "frobnicate": 1 }');
  await expectOneLineError(RECEIVE_CLI, [path.join(dir, 'out'), '--config', bad], /Unknown argument: frobnicate/);
  await expectOneLineError(SEND_CLI, ['--to', 'udp://127.0.0.1:9'], /no source directory: .*"source-dir" in the --config file/);
  await expectOneLineError(RECEIVE_CLI, ['--listen', 'udp://127.0.0.1:0'], /no destination directory: .*"dest-dir" in the --config file/);
});

test('--config: commented files with source-dir and dest-dir run a transfer; the command line wins', { timeout: 90_000 }, async (t) => {
  const dir = await tempDir(t);
  const source = path.join(dir, 'source');
  const dest = path.join(dir, 'mirror');
  const state = path.join(dir, 'send-state');
  await makeTree(source, { 'a.txt': 'alpha', 'docs/b.bin': 40_000 });
  const receiveConfig = path.join(dir, 'receive.json');
  await writeFile(receiveConfig, `{
    // where the mirror goes, and where frames arrive
    "dest-dir": ${JSON.stringify(dest)},
    "state": ${JSON.stringify(path.join(dir, 'receive-state'))},
    "listen": "udp://127.0.0.1:0", /* any free port */
    "exit-when-synced": true,
    "timeout": 60
  }`);
  const receiver = start(RECEIVE_CLI, ['--config', receiveConfig]);
  const listening = await receiver.waitForEvent('listening');
  assert.equal(listening.dest, dest);

  const sendConfig = path.join(dir, 'send.json');
  await writeFile(sendConfig, `{
    // a tree that does not exist: the command line's source-dir must win over it
    "source-dir": ${JSON.stringify(path.join(dir, 'not-this-one'))},
    "to": "udp://127.0.0.1:${String(listening.port)}",
    "once": true,
    "redundancy": 3, // every version three times
    "state": ${JSON.stringify(state)}
  }`);
  const sent = await start(SEND_CLI, [source, '--config', sendConfig, '--rate', '50m']).exited;
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(sent.stderr, /"redundancy":3/);
  assert.match(sent.stderr, /"rate":"50.00 Mb\/s"/, 'an option on the command line wins over the file');
  const received = await receiver.exited;
  assert.equal(received.code, 0, received.stderr);
  assert.deepEqual(await treeDifferences(source, dest), []);

  // The ledger commands take the same file: they find the service's ledger through its "state"
  // and the tree's through its "source-dir" (here overridden, as that one does not exist).
  const listed = await start(SEND_CLI, ['ledger', 'list', '--config', sendConfig, '--source', source]).exited;
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /a\.txt/);
  assert.match(listed.stdout, /docs\/b\.bin/);
  // So does the receiver's status command, through the receiver's "state".
  const status = await start(RECEIVE_CLI, ['status', '--config', receiveConfig, '--json']).exited;
  assert.equal(status.code, 0, status.stderr);
  assert.equal((JSON.parse(status.stdout) as { dest: string }).dest, dest);

  // Only source-dir from the file: it is used when the command line gives none.
  const onlyConfig = path.join(dir, 'only.json');
  await mkdir(path.join(dir, 'empty'));
  await writeFile(onlyConfig, JSON.stringify({ 'source-dir': path.join(dir, 'empty'), to: 'udp://127.0.0.1:9', once: true, state: path.join(dir, 'empty-state') }));
  const fromFile = await start(SEND_CLI, ['--config', onlyConfig]).exited;
  assert.equal(fromFile.code, 0, fromFile.stderr);
  assert.match(fromFile.stderr, /"event":"done","files":0/);
});
