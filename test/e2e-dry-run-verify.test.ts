import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { appendFile, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RECEIVE_CLI, SEND_CLI, runSender, start } from './lib/cli.js';
import { makeTree, tempDir } from './lib/tree.js';

/** Checks before and after: `diode-send --dry-run` and `diode-receive verify`. */

async function ok(cli: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const { code, stdout, stderr } = await start(cli, args, env).exited;
  assert.equal(code, 0, `${args.join(' ')}: ${stderr}`);
  return stdout;
}

/** The plan's file lines as [reason, size, path]. */
const planOf = (stdout: string) => stdout.trim().split('\n').slice(0, -1).map((l) => l.trim().split(/\s+/)).sort((a, b) => a[2]!.localeCompare(b[2]!));

test('--dry-run lists new, changed and reset files with sizes; it sends nothing and changes no ledger row', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const state = path.join(root, 'state');
  await makeTree(src, { 'a.txt': 'ten bytes\n', 'b.bin': 5000, 'c/d.txt': 'dee\n' });
  const socket = dgram.createSocket('udp4');
  let datagrams = 0;
  socket.on('message', () => datagrams++);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.after(() => socket.close());
  const to = `udp://127.0.0.1:${socket.address().port}`;

  // No ledger yet: everything is new, and no ledger is created. No --to needed.
  const first = await ok(SEND_CLI, [src, '--dry-run', '--state', state]);
  assert.deepEqual(planOf(first), [['new', '10', 'a.txt'], ['new', '5000', 'b.bin'], ['new', '4', 'c/d.txt']]);
  assert.match(first, /would send 3 file\(s\), .*\(5014 bytes\).*nothing sent, ledger unchanged\n$/);
  assert.ok(!existsSync(state), 'a dry run creates no ledger');

  assert.equal((await runSender(src, 'udp://127.0.0.1:9', ['--once', '-R', '1', '--settle', '0', '--state', state])).code, 0);
  await writeFile(path.join(src, 'a.txt'), 'now eleven\n\n');
  await writeFile(path.join(src, 'e.txt'), 'new\n');
  await ok(SEND_CLI, ['ledger', 'reset', '--path', 'c/**', '--state', state]);
  const rowsBefore = await ok(SEND_CLI, ['ledger', 'list', '--json', '--state', state]);
  const statsBefore = await ok(SEND_CLI, ['ledger', 'stats', '--json', '--state', state]);

  const resumed = await ok(SEND_CLI, [src, '--to', to, '--dry-run', '--resume', '-R', '1', '--state', state]);
  assert.deepEqual(planOf(resumed), [['changed', '12', 'a.txt'], ['reset', '4', 'c/d.txt'], ['new', '4', 'e.txt']]);
  assert.match(resumed, /would send 3 file\(s\), .*\(20 bytes\).*1 up to date/);
  // Without --resume every version goes R more times: the dry run says so, with its reason.
  const again = await ok(SEND_CLI, [src, '--to', to, '--dry-run', '-R', '1', '--state', state]);
  assert.deepEqual(planOf(again).find((l) => l[2] === 'b.bin'), ['again', '5000', 'b.bin']);

  await sleep(300);
  assert.equal(datagrams, 0, 'nothing reached the listening socket');
  assert.equal(await ok(SEND_CLI, ['ledger', 'list', '--json', '--state', state]), rowsBefore, 'no ledger row changed');
  assert.equal(await ok(SEND_CLI, ['ledger', 'stats', '--json', '--state', state]), statsBefore, 'no session was recorded');
});

test('verify DEST: exit 0 when the mirror matches the last manifest, 2 with its missing, outdated and unexpected files', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  // The receiver's default state, which verify must find by itself.
  const env = { XDG_STATE_HOME: path.join(root, 'xdg') };
  await makeTree(src, { 'keep.txt': 'keep\n', 'gone.txt': 'gone\n', 'same-size.txt': 'AAAA\n', 'grows.txt': 'g\n', 'sub/deep.bin': 30_000 });
  const receiver = start(RECEIVE_CLI, [dest, '--listen', 'udp://127.0.0.1:0', '--state=default', '--exit-when-synced', '--timeout', '40'], env);
  t.after(() => receiver.kill('SIGKILL'));
  const port = Number((await receiver.waitForEvent('listening')).port);
  assert.equal((await runSender(src, `udp://127.0.0.1:${port}`, ['--once', '-R', '1', '--settle', '0'])).code, 0);
  const received = await receiver.exited;
  assert.equal(received.code, 0, received.stderr);

  const matches = await start(RECEIVE_CLI, ['verify', dest], env).exited;
  assert.equal(matches.code, 0, matches.stderr);
  assert.match(matches.stdout, /^mirror .* matches the manifest of .*: 5 file\(s\)\n$/);

  await rm(path.join(dest, 'gone.txt'));
  const sameSize = path.join(dest, 'same-size.txt');
  const { mtime } = await stat(sameSize);
  await writeFile(sameSize, 'BBBB\n'); // same size and mtime: only the SHA-256 tells
  await utimes(sameSize, mtime, mtime);
  await appendFile(path.join(dest, 'grows.txt'), 'more');
  await writeFile(path.join(dest, 'stray.txt'), 'not from the sender\n');
  const differs = await start(RECEIVE_CLI, ['verify', dest], env).exited;
  assert.equal(differs.code, 2, differs.stderr);
  assert.deepEqual(differs.stdout.trim().split('\n').slice(0, -1), [
    'missing     gone.txt',
    'outdated    grows.txt (size differs)',
    'outdated    same-size.txt (sha256 differs)',
    'unexpected  stray.txt',
  ]);
  assert.match(differs.stdout, /differs from the manifest .*: 1 missing, 2 outdated, 1 unexpected\n$/);
  const json = JSON.parse((await start(RECEIVE_CLI, ['verify', dest, '--json'], env).exited).stdout) as { matches: boolean; missing: string[]; unexpected: string[] };
  assert.deepEqual([json.matches, json.missing, json.unexpected], [false, ['gone.txt'], ['stray.txt']]);
  assert.equal(await readFile(path.join(dest, 'keep.txt'), 'utf8'), 'keep\n', 'verify changes nothing');

  const none = await start(RECEIVE_CLI, ['verify', dest, '--state', path.join(root, 'empty')]).exited;
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^diode-receive: error: no manifest kept in '.*empty'.*\n$/);
  const noDest = await start(RECEIVE_CLI, ['verify', path.join(root, 'nowhere')]).exited;
  assert.equal(noDest.code, 1);
  assert.match(noDest.stderr, /^diode-receive: error: cannot verify '.*nowhere': ENOENT\n$/);
});
