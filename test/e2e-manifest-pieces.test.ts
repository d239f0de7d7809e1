import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { RECEIVE_CLI, SEND_CLI, events, start, startImpairRelay, startReceiver, stopImpairRelay } from './lib/cli.js';
import { makeTree, tempDir, treeDifferences } from './lib/tree.js';

// DIODESYNC_MANIFEST_PIECE_FILES makes the sender cut its manifest into pieces of that many files,
// so a small tree spans several pieces (the default is 10,000 files a piece).
const PIECE_FILES = '7';

function tree(): Record<string, number | string> {
  const files: Record<string, number | string> = {};
  for (let i = 0; i < 60; i++) files[`d${i % 5}/f${String(i).padStart(2, '0')}.txt`] = `file ${i}\n`.repeat(1 + (i % 9));
  files['top.txt'] = 'top\n';
  return files;
}

function send(src: string, to: string, args: string[]) {
  return start(SEND_CLI, [src, '--to', to, '--once', '--rate', '50m', '--settle', '0', ...args], { DIODESYNC_MANIFEST_PIECE_FILES: PIECE_FILES }).exited;
}

test('a tree of several manifest pieces through a lossy relay ends synced, and verify finds the mirror whole', { timeout: 90_000 }, async (t) => {
  const root = await tempDir(t);
  const [src, dest, state] = ['src', 'dest', 'state'].map((d) => path.join(root, d)) as [string, string, string];
  await makeTree(src, tree());
  const receiver = await startReceiver(dest, ['--state', state, '--exit-when-synced', '--timeout', '60']);
  t.after(() => receiver.kill('SIGKILL'));
  const relay = await startImpairRelay(receiver.port, ['--loss', '0.05', '--seed', '7']);
  t.after(() => relay.kill('SIGKILL'));
  // Three passes, each ended by a whole cycle of pieces: a piece lost in one cycle comes again in the next.
  const sent = await send(src, `udp://127.0.0.1:${relay.port}`, ['-R', '3', '--state', path.join(root, 'send-state')]);
  assert.equal(sent.code, 0, sent.stderr);
  const pieces = events(sent.stderr).filter((e) => e.event === 'manifest-piece-sent');
  assert.ok(pieces.length >= 3 * 9, `every cycle went in pieces of ${PIECE_FILES} files: ${pieces.length} pieces`);
  const received = await receiver.exited;
  const counters = await stopImpairRelay(relay);
  assert.ok(Number(counters.lostRandom) > 0, `the relay lost frames: ${JSON.stringify(counters)}`);
  assert.equal(received.code, 0, received.stderr.slice(-3000));
  assert.deepEqual(await treeDifferences(src, dest), []);
  const report = JSON.parse(await readFile(path.join(state, 'report.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(report.synced, true);
  assert.equal(report.manifestFiles, 61);
  const verify = await start(RECEIVE_CLI, ['verify', dest, '--state', state, '--json']).exited;
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  assert.equal((JSON.parse(verify.stdout) as { files: number }).files, 61);
});

test('a receiver restarted with an empty mirror learns the whole tree from one cycle of pieces and reports every file missing', { timeout: 90_000 }, async (t) => {
  const root = await tempDir(t);
  const [src, dest, state, sendState] = ['src', 'dest', 'state', 'send-state'].map((d) => path.join(root, d)) as [string, string, string, string];
  await makeTree(src, tree());
  const first = await startReceiver(dest, ['--state', state, '--exit-when-synced', '--timeout', '60']);
  t.after(() => first.kill('SIGKILL'));
  assert.equal((await send(src, `udp://127.0.0.1:${first.port}`, ['-R', '1', '--state', sendState])).code, 0);
  assert.equal((await first.exited).code, 0);
  await rm(dest, { recursive: true });

  const second = await startReceiver(dest, ['--state', state]);
  t.after(() => second.kill('SIGKILL'));
  // The ledger says every file went once: this run sends no file, only one cycle of pieces.
  const again = await send(src, `udp://127.0.0.1:${second.port}`, ['-R', '1', '--resume', '--state', sendState]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(events(again.stderr).filter((e) => e.event === 'file-sent').length, 0, 'no file was sent again');
  const cycle = events(again.stderr).find((e) => e.event === 'manifest-sent')!;
  // Wait for the receiver to apply the last piece, then stop it: its final report says what it knows.
  for (let i = 0; i < 100; i++) {
    const applied = events(second.stderr()).filter((e) => e.event === 'manifest').length;
    if (applied >= Number(cycle.pieces)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  second.kill('SIGTERM');
  const stopped = await second.exited;
  const report = JSON.parse(await readFile(path.join(state, 'report.json'), 'utf8')) as { synced: boolean; missing: { path: string }[]; manifestFiles: number };
  assert.equal(report.synced, false, stopped.stderr.slice(-2000));
  assert.equal(report.manifestFiles, 61);
  assert.equal(report.missing.length, 61, 'every file is reported missing');
  assert.ok(report.missing.some((m) => m.path === 'd4/f59.txt') && report.missing.some((m) => m.path === 'top.txt'));
});
