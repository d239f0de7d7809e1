import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { RECEIVE_CLI, events, runSender, start } from './lib/cli.js';
import { makeTree, tempDir, treeDifferences } from './lib/tree.js';

/*
 * The receiver's UDP reader thread receives into a ring of shared memory, datagrams packed one
 * after another, reused as soon as the main thread has handled a datagram. Anything kept beyond
 * that (a chunk waiting for its write, parity, a frame before its header, a decoded object header
 * with its hash) must be a copy: a view left in the ring would be overwritten by a later datagram
 * and spoil a file (or its expected hash). A small ring (--rcvbuf 2m) wraps many times here. The large
 * file also goes through the early write-back (sync_file_range every 8 MiB), or its fallback.
 */
/** The path `--io auto` takes in this environment: DIODESYNC_IO=dgram (npm run test:dgram) or DIODESYNC_NATIVE=0 lower it to the fallback. */
const forcedDgram = process.env.DIODESYNC_IO === 'dgram' || process.env.DIODESYNC_NATIVE === '0';
const writeback = process.env.DIODESYNC_NATIVE === '0' ? /^none \(native addon not used\)$/ : /^sync_file_range$/;
const PATHS: { io: string; env: NodeJS.ProcessEnv; expect: { io: string; writeback: RegExp; gro?: RegExp }; gro?: boolean }[] = [
  { io: 'auto', env: {}, expect: { io: forcedDgram ? 'dgram' : 'mmsg', writeback } },
  { io: 'dgram', env: {}, expect: { io: 'dgram', writeback } },
  { io: 'auto', env: { DIODESYNC_NATIVE: '0' }, expect: { io: 'dgram', writeback: /^none \(native addon not used\)$/ } },
  // --gro, the sender on GSO: on loopback each GSO message arrives whole and the reader splits it (or, forced to node:dgram, GRO is said to be unavailable).
  {
    io: 'auto', env: {}, gro: true,
    expect: forcedDgram
      ? { io: 'dgram', writeback, gro: /^unavailable: node:dgram has no GRO .*; each datagram is received alone \(io=dgram\)$/ }
      : { io: 'mmsg+gro', writeback: /^sync_file_range$/, gro: /^on \(UDP_GRO\)$/ },
  },
];
for (const { io, env, expect, gro } of PATHS) {
  const how = `--io ${io}${env.DIODESYNC_NATIVE ? ', no addon' : ''}${gro ? ', --gro, sender on GSO' : ''}`;
  test(`many files through a small receive ring arrive byte-identical, none spoilt (${how})`, { timeout: 120_000 }, async (t) => {
    const root = await tempDir(t);
    const src = path.join(root, 'src');
    const dest = path.join(root, 'dest');
    const files: Record<string, number> = { 'big/ten-mb.bin': 10 * 1024 * 1024 };
    // Sizes from one byte to a few chunks (random contents: every file differs).
    for (let i = 0; i < 300; i++) files[`d${i % 7}/f${i}.bin`] = 1 + ((i * 7919) % 6000);
    await makeTree(src, files);
    const receiver = start(RECEIVE_CLI, [dest, '--listen', 'udp://127.0.0.1:0', '--exit-when-synced', '--timeout', '100', '--rcvbuf', '2m', '--io', io, ...(gro ? ['--gro'] : [])], env);
    t.after(() => receiver.kill('SIGKILL'));
    const port = Number((await receiver.waitForEvent('listening')).port);
    const sent = await runSender(src, `udp://127.0.0.1:${port}`, ['--once', '--rate', '200m', '-R', '2', '--fec', '8+2', ...(gro ? ['--io', 'gso'] : [])]);
    assert.equal(sent.code, 0, sent.stderr);
    const received = await receiver.exited;
    assert.equal(received.code, 0, received.stderr);
    assert.deepEqual(await treeDifferences(src, dest), []);
    const exit = events(received.stderr).find((e) => e.event === 'exit')!;
    assert.equal(exit.verifyFailed, 0, 'a chunk or a hash read from a reused slot would spoil a file');
    const listening = events(received.stderr).find((e) => e.event === 'listening')!;
    assert.equal(listening.io, expect.io);
    assert.match(String(listening.writeback), expect.writeback);
    if (expect.gro) assert.match(String(listening.gro), expect.gro);
  });
}
