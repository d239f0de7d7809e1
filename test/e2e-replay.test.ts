import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RECEIVE_CLI, events, runSender, start, startReceiver } from './lib/cli.js';
import { writeKey } from './lib/keys.js';
import { startRelay } from './lib/relay.js';
import { makeTree, tempDir, treeDifferences } from './lib/tree.js';

/** Polls until `check` holds, or fails after `ms`. */
async function until(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(100);
  }
}

/** Sends the recorded datagrams to the receiver as they were, a few at a time so the socket keeps up. */
async function inject(datagrams: Buffer[], port: number): Promise<void> {
  const socket = dgram.createSocket('udp4');
  try {
    for (let i = 0; i < datagrams.length; i++) {
      await new Promise<void>((resolve, reject) => socket.send(datagrams[i]!, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
      if (i % 32 === 31) await sleep(2);
    }
  } finally {
    socket.close();
  }
}

test('a replay of an older sender run, recorded on the link, is dropped and counted: the newer files stay, one sender-restart', { timeout: 90_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  const state = path.join(root, 'state');
  await makeTree(src, { 'f.txt': 'first run\n', 'a.bin': 100_000, 'd/b.txt': 'bee\n' });
  const key = await writeKey(root, 'key');
  const receiver = await startReceiver(dest, ['--state', state, '--key-file', key, '--metrics', '127.0.0.1:0']);
  t.after(() => receiver.kill('SIGKILL'));
  const metricsPort = Number((await receiver.waitForEvent('listening')).metricsPort);

  // The first run goes to the receiver through a tap that records every datagram on the link.
  const recorded: Buffer[] = [];
  const tap = await startRelay(receiver.port, (d) => {
    recorded.push(Buffer.from(d));
    return d;
  });
  let tapOpen = true;
  t.after(() => tapOpen && tap.close());
  const first = await runSender(src, `udp://127.0.0.1:${tap.port}`, ['--once', '-R', '1', '--key-file', key]);
  assert.equal(first.code, 0, first.stderr);
  await until('the first run mirrored', 15_000, async () => (await treeDifferences(src, dest)).length === 0);
  tapOpen = false;
  await tap.close();
  assert.ok(recorded.length > 10, `${recorded.length} datagrams recorded`);

  // Between the runs, two files change. The second run (a newer session) sends three passes a second apart.
  await writeFile(path.join(src, 'f.txt'), 'second run, longer\n');
  await writeFile(path.join(src, 'a.bin'), Buffer.alloc(150_000, 7));
  const second = runSender(src, `udp://127.0.0.1:${receiver.port}`, ['--once', '-R', '3', '--pass-interval', '1', '--key-file', key]);
  await until('the second run mirrored', 15_000, async () => (await readFile(path.join(dest, 'f.txt'), 'utf8')) === 'second run, longer\n');
  // The first run, replayed while the second one runs, and again after it ended.
  await inject(recorded, receiver.port);
  const sent = await second;
  assert.equal(sent.code, 0, sent.stderr);
  await inject(recorded, receiver.port);
  await sleep(1_500); // the receiver takes the last datagrams, and writes its status once

  assert.deepEqual(await treeDifferences(src, dest), []);
  assert.equal(await readFile(path.join(dest, 'f.txt'), 'utf8'), 'second run, longer\n');
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  assert.match(metrics, /diodesync_frames_dropped_total\{reason="stale-session"\} [1-9]/);
  receiver.kill('SIGTERM');
  const received = await receiver.exited;
  assert.equal(received.code, 0, received.stderr);
  const log = events(received.stderr);
  const exit = log.find((e) => e.event === 'exit')!;
  // Every replayed frame is dropped before anything reads it (a few may have been lost on loopback).
  assert.ok(Number(exit.staleSession) > recorded.length, JSON.stringify(exit));
  assert.equal(exit.authFailed, 0);
  assert.equal(log.filter((e) => e.event === 'sender-restart').length, 1, 'the real restart, once');
  assert.equal(log.filter((e) => e.event === 'stale-session').length, 1, 'the replayed session, logged once');
  const status = await start(RECEIVE_CLI, ['status', '--state', state]).exited;
  assert.match(status.stdout, /stale session [1-9]/);
});
