import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as dgram from 'node:dgram';
import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { events, runSender, startReceiver } from './lib/cli.js';
import { hostileFrames } from './lib/hostile.js';
import { mutate } from './lib/mutate.js';
import { prng } from './lib/prng.js';
import { listTree, makeTree, tempDir, treeDifferences } from './lib/tree.js';

const ROUNDS = 100_000;
/** Datagrams per 20 ms tick: 25,000 a second, about 4 s for the lot. */
const BATCH = 500;

/** Frames of a real send of `src`, captured on a socket of our own. */
async function capture(src: string): Promise<Buffer[]> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const frames: Buffer[] = [];
  socket.on('message', (m) => frames.push(m));
  const sent = await runSender(src, `udp://127.0.0.1:${socket.address().port}`, ['--once', '-R', '1', '--rate', '50m']);
  assert.equal(sent.code, 0, sent.stderr);
  await sleep(200);
  socket.close();
  return frames;
}

function peakRssMiB(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then((s) => Number(/VmHWM:\s+(\d+)/.exec(s)![1]) / 1024);
}

test(`a running receiver survives ${ROUNDS} mutated frames and hostile objects, writes nothing outside DEST, then mirrors a tree`, { timeout: 180_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  const outside = path.join(root, 'outside');
  await makeTree(src, { 'a.bin': 150_000, 'd/b.txt': 'bee\n', 'd/e/c.bin': 30_000, 'empty': '' });
  await mkdir(outside);
  await writeFile(path.join(outside, 'victim.txt'), 'victim\n');
  await mkdir(dest);
  // A symlink already in DEST, pointing out of it: the oldest trick.
  await symlink(outside, path.join(dest, 'link'));
  const victimSha = createHash('sha256').update('victim\n').digest();

  const frames = await capture(src);
  assert.ok(frames.length > 100, `${frames.length} frames captured`);
  const receiver = await startReceiver(dest, ['--apply-deletes', '--max-buffer', '16m']);
  t.after(() => receiver.kill('SIGKILL'));
  const socket = dgram.createSocket('udp4');
  t.after(() => socket.close());
  const send = (d: Buffer) => new Promise<void>((resolve) => socket.send(d, receiver.port, '127.0.0.1', () => resolve()));

  for (const f of hostileFrames(0x5eed, outside, victimSha)) await send(f);
  const random = prng(7_2026);
  for (let i = 0; i < ROUNDS; i += BATCH) {
    await Promise.all(Array.from({ length: BATCH }, () => send(mutate(frames, random).bytes)));
    await sleep(20);
  }
  // The same hostile objects again, after the storm, and then the real tree.
  for (const f of hostileFrames(0x5eee, outside, victimSha)) await send(f);
  const sent = await runSender(src, `udp://127.0.0.1:${receiver.port}`, ['--once', '-R', '2', '--rate', '50m']);
  assert.equal(sent.code, 0, sent.stderr);
  for (let i = 0; i < 100 && (await treeDifferences(src, dest)).some((d) => !d.startsWith('unexpected link')); i++) await sleep(200);
  const peak = await peakRssMiB(receiver.child.pid!);
  receiver.kill('SIGTERM');
  const exited = await receiver.exited;
  assert.equal(exited.code, 0, exited.stderr.slice(-2000));

  // The symlink is still the symlink we planted, and what it points at is untouched.
  assert.deepEqual(await treeDifferences(src, dest), ['unexpected link']);
  assert.deepEqual(await readdir(outside), ['victim.txt']);
  assert.equal(await readFile(path.join(outside, 'victim.txt'), 'utf8'), 'victim\n');
  // Nothing named ESCAPE anywhere: not beside DEST, not in the state directory's mirror side, not in the temp dir.
  assert.deepEqual((await readdir(root)).sort(), ['.dest.diodesync', 'dest', 'outside', 'src']);
  const everywhere = [...(await listTree(root)).map((e) => e.path), ...(await readdir(path.dirname(root)))];
  assert.deepEqual(everywhere.filter((p) => p.includes('ESCAPE') && !p.startsWith('.dest.diodesync/partial')), []);
  const exit = events(exited.stderr).find((e) => e.event === 'exit')!;
  assert.ok(Number(exit.frames) > ROUNDS / 2, `the receiver read ${String(exit.frames)} frames`);
  assert.ok(Number(exit.badPath) > 0 && Number(exit.badFrames) > 0 && Number(exit.refused) > 0, JSON.stringify(exit));
  const log = events(exited.stderr);
  assert.ok(log.some((e) => e.event === 'change-refused' && e.path === 'link/victim.txt'), 'a delete through the symlink is refused');
  assert.ok(log.some((e) => e.event === 'write-failed' && String(e.path).startsWith('link/ESCAPE')), 'a file through the symlink is refused');
  assert.ok(peak < 400, `peak RSS ${peak.toFixed(0)} MiB`);
  t.diagnostic(`peak RSS ${peak.toFixed(0)} MiB; exit ${JSON.stringify(exit)}`);
  await rm(path.join(dest, 'link'));
});
