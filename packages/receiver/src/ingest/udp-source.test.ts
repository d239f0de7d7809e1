import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openUdp, udpIoFor } from '@diodesync/native';
import { listenUdp, type UdpSource } from './udp-source.js';

/** Datagram i: its index, then bytes that depend on it, `length` in all. */
function datagram(i: number, length: number): Buffer {
  const d = Buffer.alloc(length);
  d.writeUInt32BE(i, 0);
  for (let j = 4; j < length; j++) d[j] = (i * 31 + j) & 0xff;
  return d;
}

/** Paced (a large datagram, or 8 small ones, then a millisecond): the kernel's buffer must not overflow, since what it drops nobody counts. */
async function sendAll(port: number, lengths: number[]): Promise<void> {
  const socket = dgram.createSocket('udp4');
  try {
    for (let i = 0; i < lengths.length; i++) {
      await new Promise<void>((resolve, reject) => socket.send(datagram(i, lengths[i]!), port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
      if (lengths[i]! > 8192 || i % 8 === 7) await sleep(1);
    }
  } finally {
    socket.close();
  }
}

/** What the kernel dropped for the socket bound to this port, before the reader took it (the last column of /proc/net/udp). */
async function udpDrops(port: number): Promise<number> {
  const local = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const rows = (await readFile('/proc/net/udp', 'utf8')).split('\n').slice(1).map((row) => row.trim().split(/\s+/));
  const row = rows.find((cols) => cols[1]?.endsWith(local));
  assert.ok(row, `the socket on port ${port} is in /proc/net/udp`);
  return Number(row[row.length - 1]);
}

async function until(what: string, ms: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(20);
  }
}

for (const io of ['auto', 'dgram'] as const) {
  test(`datagrams come through the shared ring intact and in order across many wraps and a change of size (io ${io})`, { timeout: 60_000 }, async (t) => {
    const seen: Buffer[] = [];
    let overflow = 0;
    // 4 MiB: the kernel's buffer (net.core.rmem_max allowing) rides out a reader thread starved by a busy machine.
    const source: UdpSource = await listenUdp('127.0.0.1', 0, 4 * 1024 * 1024, {
      onDatagram: (d) => seen.push(Buffer.from(d)), // a copy: the slot is reused
      onOverflow: (n) => (overflow += n),
      onFailure: (err) => assert.fail(err),
    }, undefined, io);
    t.after(() => source.close());
    assert.equal(source.io, udpIoFor(io).mode === 'dgram' ? 'dgram' : 'mmsg'); // DIODESYNC_IO=dgram lowers auto too
    // 3,000 small ones (the ring wraps), then larger ones, each larger than any before it put
    // together by the reader (the stride grows; the ring wraps several times), then small ones again.
    const lengths = [
      ...Array.from({ length: 3000 }, (_, i) => 20 + (i % 1500)),
      ...Array.from({ length: 300 }, (_, i) => 30_000 + i * 100),
      65_507,
      ...Array.from({ length: 1000 }, (_, i) => 4 + (i % 9000)),
    ];
    await sendAll(source.port, lengths);
    await until('every datagram handed over', 20_000, () => seen.length + overflow >= lengths.length);
    assert.equal(overflow, 0);
    assert.equal(seen.length, lengths.length);
    for (let i = 0; i < lengths.length; i++) assert.ok(seen[i]!.equals(datagram(i, lengths[i]!)), `datagram ${i} intact`);
  });
}

/**
 * A sender in another process sends `total` datagrams of 1472 bytes (5.9 MB), after one of
 * `firstLength` bytes if given, while this (the main) thread is blocked, so that no message from the
 * reader is handled, the ring fills and the reader drops. Paced, so that the kernel's buffer rides
 * out a reader thread that the busy machine starves; what the kernel drops anyway is read from
 * /proc/net/udp. The stall lasts until the child says it is done (a file), not for a fixed time that
 * a slow start outlasts.
 */
async function stallWhileSent(t: TestContext, budget: number, total: number, firstLength?: number): Promise<void> {
  let received = 0;
  let overflow = 0;
  const source = await listenUdp('127.0.0.1', 0, budget, {
    onDatagram: () => void received++,
    onOverflow: (n) => (overflow += n),
    onFailure: (err) => assert.fail(err),
  });
  t.after(() => source.close());
  if (firstLength) {
    await sendAll(source.port, [firstLength]);
    await until('the large datagram handed over', 10_000, () => received === 1);
    received = 0;
  }
  const dir = await mkdtemp(join(tmpdir(), 'ds-stall-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const done = join(dir, 'sent');
  const child = spawn(process.execPath, ['-e', `
    const s = require('node:dgram').createSocket('udp4');
    const d = Buffer.alloc(1472);
    (async () => {
      for (let i = 0; i < ${total}; i++) {
        await new Promise((resolve) => s.send(d, ${source.port}, '127.0.0.1', resolve));
        if (i % 16 === 15) await new Promise((resolve) => setTimeout(resolve, 1));
      }
      s.close();
      require('node:fs').writeFileSync(${JSON.stringify(done)}, '');
    })();
  `], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  const stallUntil = Date.now() + 30_000;
  while (!existsSync(done) && Date.now() < stallUntil); // busy: the child sends meanwhile
  assert.ok(existsSync(done), 'the child sent everything within 30 s');
  const kernelDrops = await udpDrops(source.port);
  await until('the ring drained and drops reported', 10_000, () => received + overflow + kernelDrops >= total);
  assert.ok(overflow > 0, 'the full ring dropped and counted');
  // Packed at their size, the ring holds what --rcvbuf bytes hold (a slot per page held 512 here;
  // a slot of the stride a large datagram had grown to held 90). After a large one, a datagram is
  // moved down only when that frees more than it copies: at least half the budget is held then.
  const fits = Math.floor(budget / 1472);
  assert.ok(received >= (firstLength ? fits / 2 : fits), `${received} taken from the ring (${fits} fit)`);
  assert.equal(received + overflow + kernelDrops, total, 'each datagram is either handed over or counted (or dropped by the kernel, before the ring)');
  // And it goes on: later datagrams arrive.
  const before = received;
  await sendAll(source.port, Array.from({ length: 100 }, () => 100));
  await until(`later datagrams arrive (${received}, ${overflow})`, 10_000, () => received >= before + 100);
}

test('a main thread that stalls fills the ring: it holds --rcvbuf bytes of datagrams packed, then the reader drops and counts, and goes on afterwards', { timeout: 60_000 }, async (t) => {
  await stallWhileSent(t, 2 * 1024 * 1024, 4000);
});

// The stride is the largest datagram seen lately (a GRO message of 64 KiB, here one datagram of
// 60,000 bytes); the small datagrams after it must still be packed at their size, not one per stride.
test('after a large datagram, small ones are still packed: a stalled main thread\'s ring holds at least half of --rcvbuf bytes of them', { timeout: 60_000 }, async (t) => {
  await stallWhileSent(t, 2 * 1024 * 1024, 4000, 60_000);
});

test('--gro: GSO-sent batches arrive as coalesced messages, split by their segment size, every datagram intact and in order', { timeout: 60_000 }, async (t) => {
  const seen: Buffer[] = [];
  let overflow = 0;
  const source = await listenUdp('127.0.0.1', 0, 2 * 1024 * 1024, {
    onDatagram: (d) => seen.push(Buffer.from(d)),
    onOverflow: (n) => (overflow += n),
    onFailure: (err) => assert.fail(err),
  }, undefined, 'auto', true);
  t.after(() => source.close());
  if (udpIoFor('auto').mode === 'dgram') {
    // The fallback (DIODESYNC_IO=dgram, no addon): GRO is off and says why; datagrams still arrive one by one.
    assert.equal(source.groOn, false);
    assert.match(source.groReason, /node:dgram has no GRO/);
  } else {
    assert.equal(source.groOn, true, source.groReason);
  }
  const sender = await openUdp({ connect: { address: '127.0.0.1', port: source.port }, io: 'auto' });
  t.after(() => sender.close());
  // Runs of one size (GSO messages of up to 64 KiB on the wire, kept whole on loopback), a short last one, then 8972-byte ones.
  const lengths = [...Array<number>(600).fill(1472), 300, ...Array<number>(60).fill(8972), ...Array<number>(200).fill(1000)];
  for (let from = 0; from < lengths.length; from += 100) {
    const batch = lengths.slice(from, from + 100).map((len, i) => datagram(from + i, len));
    await sender.sendBatch(Buffer.concat(batch), Uint32Array.from(batch, (d) => d.length));
    await sleep(2); // paced: what the kernel's buffer drops nobody counts
  }
  await until('every datagram handed over', 20_000, () => seen.length + overflow >= lengths.length);
  assert.equal(overflow, 0);
  assert.equal(seen.length, lengths.length);
  for (let i = 0; i < lengths.length; i++) assert.ok(seen[i]!.equals(datagram(i, lengths[i]!)), `datagram ${i} intact`);
  if (source.groOn) assert.ok(source.coalesced() > 0, 'at least one receive held a whole GSO message, split here');
});
