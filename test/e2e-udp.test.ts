import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { RECEIVE_CLI, startReceiver, runSender, events } from './lib/cli.js';
import { makeTree, tempDir, treeDifferences } from './lib/tree.js';

test('a tree with nested dirs, an empty file, a 20 MB file and unusual names mirrors exactly over UDP', { timeout: 120_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  await makeTree(src, {
    'top.txt': 'top level\n',
    'empty.dat': '',
    'big/twenty-mb.bin': 20 * 1024 * 1024,
    'a/b/c/d/deep.bin': 5000,
    'a/b/sibling.bin': 1424, // exactly one chunk
    'a/b/one-more.bin': 1425, // one chunk and a byte
    'with space/file name with spaces.txt': 'spaces\n',
    'données/résumé-été 2026 ✓.txt': 'non-ASCII\n',
    '日本語/ファイル.txt': 'CJK\n',
  });
  const receiver = await startReceiver(dest, ['--exit-when-synced', '--timeout', '90']);
  const sent = await runSender(src, `udp://127.0.0.1:${receiver.port}`, ['--once', '--rate', '1g', '-R', '2']);
  assert.equal(sent.code, 0, sent.stderr);
  const received = await receiver.exited;
  assert.equal(received.code, 0, received.stderr);
  assert.deepEqual(await treeDifferences(src, dest), []);

  const report = JSON.parse(await readFile(path.join(root, '.dest.diodesync', 'report.json'), 'utf8'));
  assert.equal(report.synced, true);
  assert.equal(report.manifestFiles, 9);
  assert.deepEqual(report.missing, []);
});

test('a second run against a complete mirror transfers nothing new and exits synced', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  await makeTree(src, { 'a.bin': 300_000, 'b/c.txt': 'c\n' });
  for (let run = 0; run < 2; run++) {
    const receiver = await startReceiver(dest, ['--exit-when-synced', '--timeout', '30']);
    const sent = await runSender(src, `udp://127.0.0.1:${receiver.port}`, ['--once', '-R', '1']);
    assert.equal(sent.code, 0, sent.stderr);
    const received = await receiver.exited;
    assert.equal(received.code, 0, received.stderr);
    const exit = events(received.stderr).find((e) => e.event === 'exit')!;
    // The second run finds both files already verified in place and writes none.
    assert.equal(exit.files, run === 0 ? 2 : 0);
  }
  assert.deepEqual(await treeDifferences(src, dest), []);
});

test('the sender exits 0 with nobody listening: a one-way sender never waits for an answer', { timeout: 30_000 }, async (t) => {
  const root = await tempDir(t);
  await makeTree(root, { 'x.bin': 50_000 });
  const sent = await runSender(root, 'udp://127.0.0.1:9', ['--once', '-R', '2']);
  assert.equal(sent.code, 0, sent.stderr);
  const done = events(sent.stderr).find((e) => e.event === 'done')!;
  assert.equal(done.files, 2);
});

const forcedDgram = process.env.DIODESYNC_IO === 'dgram' || process.env.DIODESYNC_NATIVE === '0';
for (const io of ['auto', 'dgram'] as const) {
  test(`--io ${io} on both sides: a tree mirrors exactly, and the start lines say which path ran`, { timeout: 90_000 }, async (t) => {
    const root = await tempDir(t);
    const src = path.join(root, 'src');
    const dest = path.join(root, 'dest');
    await makeTree(src, { 'big.bin': 8 * 1024 * 1024, 'small.txt': 'small\n', 'd/e.bin': 100_000 });
    const receiver = await startReceiver(dest, ['--exit-when-synced', '--timeout', '60', '--io', io]);
    const sent = await runSender(src, `udp://127.0.0.1:${receiver.port}`, ['--once', '--rate', '500m', '-R', '2', '--io', io]);
    assert.equal(sent.code, 0, sent.stderr);
    const received = await receiver.exited;
    assert.equal(received.code, 0, received.stderr);
    assert.deepEqual(await treeDifferences(src, dest), []);
    const sendIo = events(sent.stderr).find((e) => e.event === 'start')?.io;
    const receiveIo = events(received.stderr).find((e) => e.event === 'listening')?.io;
    // The CLIs inherit this environment: DIODESYNC_IO=dgram (npm run test:dgram) or DIODESYNC_NATIVE=0 lower auto to the fallback.
    if (io === 'dgram' || forcedDgram) assert.deepEqual([sendIo, receiveIo], ['dgram', 'dgram']);
    else assert.deepEqual([sendIo, receiveIo], ['gso', 'mmsg'], 'this kernel has sendmmsg, GSO and recvmmsg: the addon path runs');
  });
}

test('a --rcvbuf the kernel caps (net.core.rmem_max) is said at start, not run on in silence', { timeout: 30_000 }, async (t) => {
  const root = await tempDir(t);
  const max = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
  // As root the socket could force a bigger buffer (SO_RCVBUFFORCE): run without CAP_NET_ADMIN, as a service would.
  const prefix = process.getuid?.() === 0 ? ['setpriv', '--inh-caps=-all', '--bounding-set=-net_admin', '--'] : [];
  const child = spawn(prefix[0] ?? process.execPath, [...prefix.slice(1), ...(prefix.length ? [process.execPath] : []), RECEIVE_CLI,
    path.join(root, 'dest'), '--listen', 'udp://127.0.0.1:0', '--rcvbuf', String(2 * max), '--state', path.join(root, 'state')], { env: { ...process.env, DIODESYNC_LOG: 'json' } });
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  for (const end = Date.now() + 10_000; !stderr.includes('rcvbuf-capped') && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50));
  const capped = events(stderr).find((e) => e.event === 'rcvbuf-capped');
  assert.ok(capped, stderr);
  assert.equal(capped.asked, 2 * max);
  assert.equal(capped.granted, max);
  assert.equal(capped.sysctl, 'net.core.rmem_max', 'the line names the sysctl that lifts the cap');
  assert.equal(capped.level, 'warn');
});
