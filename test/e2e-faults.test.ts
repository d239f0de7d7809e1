import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { FrameType, HEADER_SIZE } from '@diodesync/protocol';
import { events, runSender, startReceiver } from './lib/cli.js';
import { fixCrcs, headerField } from './lib/header.js';
import { prng } from './lib/prng.js';
import { startRelay } from './lib/relay.js';
import { makeTree, tempDir, treeDifferences, listTree } from './lib/tree.js';


test('bits flipped in flight never yield a corrupt file', { timeout: 120_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  await makeTree(src, { 'one.bin': 400_000, 'two/two.bin': 250_000, 'three.txt': 'three\n'.repeat(1000) });
  const receiver = await startReceiver(dest, ['--exit-when-synced', '--timeout', '20']);
  const random = prng(7);
  const relay = await startRelay(receiver.port, (d) => {
    if (random() < 0.05) {
      const bit = Math.floor(random() * d.length * 8);
      d[bit >> 3]! ^= 1 << (bit & 7);
    }
    return d;
  });
  t.after(() => relay.close());
  const sent = await runSender(src, `udp://127.0.0.1:${relay.port}`, ['--once', '--rate', '20m', '-R', '4']);
  assert.equal(sent.code, 0, sent.stderr);
  const received = await receiver.exited;
  assert.ok(received.code === 0 || received.code === 2, received.stderr);
  const exit = events(received.stderr).find((e) => e.event === 'exit')!;
  assert.ok(Number(exit.badFrames) > 0, 'the flipped frames were counted');
  // Whatever arrived is byte-identical; nothing corrupt was ever placed.
  for (const entry of await listTree(dest)) {
    if (entry.type !== 'file') continue;
    assert.deepEqual(await readFile(path.join(dest, entry.path)), await readFile(path.join(src, entry.path)), entry.path);
  }
});

test('a forged payload with valid CRCs fails verification and never replaces the good copy', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  await makeTree(src, { 'victim.txt': 'new version\n'.repeat(500) });
  await makeTree(dest, { 'victim.txt': 'the good copy already here\n' });
  const receiver = await startReceiver(dest, ['--exit-when-synced', '--timeout', '4']);
  const relay = await startRelay(receiver.port, (d) => {
    if (headerField(d, 'type') === FrameType.Data && headerField(d, 'objectId') === 1) {
      d[HEADER_SIZE]! ^= 0xff; // tamper, then re-seal both CRCs as an attacker on the link could
      fixCrcs(d);
    }
    return d;
  });
  t.after(() => relay.close());
  const sent = await runSender(src, `udp://127.0.0.1:${relay.port}`, ['--once', '-R', '2']);
  assert.equal(sent.code, 0, sent.stderr);
  const received = await receiver.exited;
  assert.equal(received.code, 2, 'incomplete: the only version sent was corrupt');
  assert.equal(await readFile(path.join(dest, 'victim.txt'), 'utf8'), 'the good copy already here\n');
  const exit = events(received.stderr).find((e) => e.event === 'exit')!;
  assert.ok(Number(exit.verifyFailed) >= 1, 'the forged version failed verification');
  const report = JSON.parse(await readFile(path.join(root, '.dest.diodesync', 'report.json'), 'utf8'));
  assert.deepEqual(report.outdated.map((m: { path: string }) => m.path), ['victim.txt']);
});

test('a file whose data never arrives is reported missing at --timeout, exit 2', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  await makeTree(src, { 'a-lost.bin': 10_000, 'b-kept.bin': 10_000 });
  const receiver = await startReceiver(dest, ['--exit-when-synced', '--timeout', '3']);
  // Object ids follow path order: 'a-lost.bin' is object 1.
  const relay = await startRelay(receiver.port, (d) => (headerField(d, 'type') === FrameType.Data && headerField(d, 'objectId') === 1 ? null : d));
  t.after(() => relay.close());
  const sent = await runSender(src, `udp://127.0.0.1:${relay.port}`, ['--once', '-R', '2']);
  assert.equal(sent.code, 0, sent.stderr);
  const received = await receiver.exited;
  assert.equal(received.code, 2, received.stderr);
  const report = JSON.parse(await readFile(path.join(root, '.dest.diodesync', 'report.json'), 'utf8'));
  assert.equal(report.synced, false);
  assert.deepEqual(report.missing.map((m: { path: string }) => m.path), ['a-lost.bin']);
  assert.deepEqual(await treeDifferences(src, dest), ['missing a-lost.bin']);
});

test('a hostile path in an object header is refused and nothing is written outside the mirror', { timeout: 30_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  await makeTree(src, { 'aaaaaaaaaaaa.txt': 'payload\n' });
  await writeFile(path.join(root, 'outside.txt'), 'untouched\n');
  const receiver = await startReceiver(dest, ['--exit-when-synced', '--timeout', '3']);
  // Rewrite the path to "../outside.txt" (same length), re-sealing the CRCs.
  const relay = await startRelay(receiver.port, (d) => {
    if (headerField(d, 'type') !== FrameType.ObjectHeader) return d;
    const at = d.indexOf('aaaaaaaaaaaa.txt');
    if (at < 0) return d;
    d.write('../outside.txt\0\0', at, 'latin1');
    d.write('../../outside.tx', at, 'latin1');
    return fixCrcs(d);
  });
  t.after(() => relay.close());
  await runSender(src, `udp://127.0.0.1:${relay.port}`, ['--once', '-R', '1']);
  const received = await receiver.exited;
  assert.equal(received.code, 2);
  assert.ok(events(received.stderr).some((e) => e.event === 'path-refused'));
  assert.equal(await readFile(path.join(root, 'outside.txt'), 'utf8'), 'untouched\n');
  assert.deepEqual((await listTree(dest)).filter((e) => e.type === 'file'), []);
});
