import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RECEIVE_CLI, SEND_CLI, events, start, startReceiver, type Running } from './lib/cli.js';
import { makeTree, tempDir, treeDifferences } from './lib/tree.js';

/** `diode-send ledger ...` with the given state dir; returns stdout, fails the test on exit != 0. */
async function ledger(state: string, args: string[]): Promise<string> {
  const { code, stdout, stderr } = await start(SEND_CLI, ['ledger', ...args, '--state', state]).exited;
  assert.equal(code, 0, `ledger ${args.join(' ')}: ${stderr}`);
  return stdout;
}

async function sendsByPath(state: string): Promise<Map<string, number>> {
  const list = JSON.parse(await ledger(state, ['list', '--json'])) as { path: string; sends: number }[];
  return new Map(list.map((v) => [v.path, v.sends]));
}

/** Paths of the `file-sent` events in a sender's log, in order. */
const sentPaths = (log: string) => events(log).filter((e) => e.event === 'file-sent').map((e) => String(e.path));

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A --once run against a port nobody listens on: the ledger is what we look at. */
async function sendOnce(src: string, state: string, args: string[] = []): Promise<string[]> {
  const { code, stderr } = await start(SEND_CLI, [src, '--to', 'udp://127.0.0.1:9', '--once', '--rate', '200m', '--state', state, ...args]).exited;
  assert.equal(code, 0, stderr);
  return sentPaths(stderr);
}

const sorted = (xs: Iterable<string>) => [...xs].sort();

test('kill -9 in the middle of a tree: -c resends nothing already sent R times and completes the rest', { timeout: 120_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  const state = path.join(root, 'send-state');
  const files: Record<string, number> = {};
  for (let i = 0; i < 60; i++) files[`d${i % 4}/f${String(i).padStart(2, '0')}.bin`] = 100_000;
  await makeTree(src, files);
  const R = 2;
  const receiver = await startReceiver(dest, ['--exit-when-synced', '--timeout', '90']);
  const to = `udp://127.0.0.1:${receiver.port}`;

  const first = start(SEND_CLI, [src, '--to', to, '--once', '--rate', '100m', '-R', String(R), '--state', state]);
  await until('50 file sends', () => (sentPaths(first.stderr()).length >= 50 ? true : undefined));
  first.kill('SIGKILL');
  const killed = await first.exited;
  assert.equal(killed.signal, 'SIGKILL');
  const logged = sentPaths(killed.stderr);
  assert.ok(logged.length < 60 * R, `killed before the end (${logged.length} sends)`);

  // The ledger is consistent after the kill: each logged send is recorded (plus at most the
  // one recorded just before the kill and not yet logged).
  const recorded = await sendsByPath(state);
  assert.equal(recorded.size, 60);
  const loggedCount = (p: string) => logged.filter((x) => x === p).length;
  let unlogged = 0;
  for (const [p, sends] of recorded) {
    assert.ok(sends === loggedCount(p) || sends === loggedCount(p) + 1, `${p}: ${sends} recorded, ${loggedCount(p)} logged`);
    unlogged += sends - loggedCount(p);
  }
  assert.ok(unlogged <= 1);

  const second = await start(SEND_CLI, [src, '--to', to, '--once', '--rate', '100m', '-R', String(R), '--state', state, '-c']).exited;
  assert.equal(second.code, 0, second.stderr);
  const resent = sentPaths(second.stderr);
  const expected = [...recorded].flatMap(([p, sends]) => Array<string>(Math.max(0, R - sends)).fill(p));
  assert.deepEqual(sorted(resent), sorted(expected), 'exactly the missing passes, nothing sent R times');
  for (const sends of (await sendsByPath(state)).values()) assert.equal(sends, R);

  const received = await receiver.exited;
  assert.equal(received.code, 0, received.stderr);
  assert.deepEqual(await treeDifferences(src, dest), []);
});

test('without -c everything is sent again; with -c a changed file is a new version', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const state = path.join(root, 'state');
  await makeTree(src, { 'a.txt': 'a\n', 'b.txt': 'b\n' });
  assert.deepEqual(sorted(await sendOnce(src, state, ['-R', '1'])), ['a.txt', 'b.txt']);
  assert.deepEqual(await sendOnce(src, state, ['-R', '1', '-c']), []);
  await writeFile(path.join(src, 'b.txt'), 'b changed\n');
  assert.deepEqual(await sendOnce(src, state, ['-R', '1', '-c']), ['b.txt']);
  // A higher R on resume: one more pass of each.
  assert.deepEqual(sorted(await sendOnce(src, state, ['-R', '2', '-c'])), ['a.txt', 'b.txt']);
  assert.deepEqual(sorted(await sendOnce(src, state, ['-R', '1'])), ['a.txt', 'b.txt']);
});

test('reset by date, path, regex and report resends exactly the matching set', { timeout: 120_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const state = path.join(root, 'state');
  const early = ['data/deep/y.bin', 'data/x.bin', 'logs/a.log', 'logs/b.log', 'top.txt'];
  const late = ['data/new.bin', 'logs/c.log'];
  await makeTree(src, { 'logs/a.log': 'a\n', 'logs/b.log': 'b\n', 'data/x.bin': 3000, 'data/deep/y.bin': 5000, 'top.txt': 'top\n' });
  assert.deepEqual(sorted(await sendOnce(src, state)), sorted([...early, ...early]));
  await sleep(20);
  const between = new Date().toISOString();
  await sleep(20);
  await makeTree(src, { 'data/new.bin': 2000, 'logs/c.log': 'c\n' });
  assert.deepEqual(sorted(await sendOnce(src, state, ['-c', '-R', '1'])), late);

  const report = path.join(root, 'report.json');
  const entry = (p: string) => ({ path: p, size: 1, sha256: '00'.repeat(32), mtime: '2024-01-01T12:00:00.000Z' });
  await writeFile(report, JSON.stringify({ synced: false, missing: [entry('top.txt'), entry('not/in/source.txt')], outdated: [entry('data/x.bin')], unexpected: ['z'] }));

  const cases: [string[], string[]][] = [
    // Each resend moves a last send time, so the date cases come first.
    [['--since', between], late],
    [['--regex', '^logs/', '--since', between], ['logs/c.log']],
    [['--until', between], early],
    [['--path', 'data/**'], ['data/deep/y.bin', 'data/new.bin', 'data/x.bin']],
    [['--path', 'data/*'], ['data/new.bin', 'data/x.bin']],
    [['--regex', '\\.log$'], ['logs/a.log', 'logs/b.log', 'logs/c.log']],
    [['--from-report', report], ['data/x.bin', 'top.txt']],
  ];
  for (const [criteria, expected] of cases) {
    const dry = await ledger(state, ['reset', ...criteria, '--dry-run']);
    assert.deepEqual(sorted(dry.trim().split('\n').slice(0, -1)), expected, `dry run ${criteria.join(' ')}`);
    assert.deepEqual(await sendOnce(src, state, ['-c', '-R', '1']), [], 'a dry run changes nothing');
    assert.match(await ledger(state, ['reset', ...criteria]), new RegExp(`^reset ${expected.length} file`));
    assert.deepEqual(sorted(await sendOnce(src, state, ['-c', '-R', '1'])), expected, criteria.join(' '));
  }
  const stats = JSON.parse(await ledger(state, ['stats', '--json'])) as { resets: number; sessions: number };
  assert.equal(stats.resets, cases.length, 'every reset is logged, dry runs are not');
});

test('operator story: mirror, lose part of the mirror, reset from the report while the sender keeps running', { timeout: 120_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  const state = path.join(root, 'send-state');
  const report = path.join(root, '.dest.diodesync', 'report.json');
  const lost = ['lost/one.bin', 'lost/two.bin', 'lost/deeper/three.txt'];
  await makeTree(src, { 'kept/a.bin': 40_000, 'kept/b.txt': 'b\n', 'lost/one.bin': 30_000, 'lost/two.bin': 1, 'lost/deeper/three.txt': 'three\n' });
  const first = await startReceiver(dest);
  const port = first.port;
  let receiver: Running = first;
  t.after(() => receiver.kill('SIGKILL'));
  const sender = start(SEND_CLI, [src, '--to', `udp://127.0.0.1:${port}`, '--rate', '100m', '-R', '1', '--rescan', '0.5', '--manifest-interval', '1', '--state', state]);
  t.after(() => sender.kill('SIGKILL'));
  await until('a complete mirror', async () => ((await treeDifferences(src, dest).catch(() => ['?'])).length === 0 ? true : undefined));
  const sentBefore = sentPaths(sender.stderr()).length;
  assert.equal(sentBefore, 5);

  // The high side goes down and loses part of the mirror; it comes back on the same port.
  receiver.kill('SIGTERM');
  await receiver.exited;
  for (const p of lost) await rm(path.join(dest, p));
  receiver = start(RECEIVE_CLI, [dest, '--listen', `udp://127.0.0.1:${port}`]);
  await receiver.waitForEvent('listening');

  // The next periodic manifest tells the receiver what it lacks.
  const missing = await until('a report listing the lost files', async () => {
    const r = JSON.parse(await readFile(report, 'utf8').catch(() => '{}')) as { missing?: { path: string }[] };
    const paths = sorted((r.missing ?? []).map((m) => m.path));
    return paths.length === lost.length ? paths : undefined;
  });
  assert.deepEqual(missing, sorted(lost));
  assert.equal(sentPaths(sender.stderr()).length, sentBefore, 'nothing resent before the reset');

  assert.match(await ledger(state, ['reset', '--from-report', report]), /^reset 3 file/);
  await until('the lost files back in the mirror', async () => ((await treeDifferences(src, dest).catch(() => ['?'])).length === 0 ? true : undefined));
  assert.deepEqual(sorted(sentPaths(sender.stderr()).slice(sentBefore)), sorted(lost), 'exactly the reported files, once each');
  assert.equal(events(sender.stderr()).filter((e) => e.event === 'start').length, 1, 'the sender never restarted');
  assert.equal(sender.child.exitCode, null);

  sender.kill('SIGTERM');
  assert.equal((await sender.exited).code, 0);
  receiver.kill('SIGTERM');
  await receiver.exited;
});

test('a damaged ledger: one clear line, exit 1, nothing sent, the file left for inspection', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  await makeTree(src, { 'a.txt': 'a\n' });
  const bad = path.join(root, 'ledger.sqlite');
  for (const content of ['', 'this is not a database\n'.repeat(50)]) {
    await writeFile(bad, content);
    for (const args of [[src, '--to', 'udp://127.0.0.1:9', '--once', '-c'], [src, '--to', 'udp://127.0.0.1:9', '--once'], ['ledger', 'list'], ['ledger', 'reset', '--all']]) {
      const { code, stderr } = await start(SEND_CLI, [...args, '--ledger', bad]).exited;
      assert.equal(code, 1, stderr);
      const lines = stderr.trim().split('\n');
      assert.equal(lines.length, 1, stderr);
      assert.match(lines[0]!, /^diode-send: error: ledger .* is unusable \(.*\)\. To rebuild it, move it aside .* without -c/);
      assert.doesNotMatch(stderr, /file-sent|\bat .*\.js:\d+/);
    }
    assert.equal(await readFile(bad, 'utf8'), content);
  }
});
