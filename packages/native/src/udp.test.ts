// Batched UDP, native (gso/mmsg) and node:dgram paths, on real sockets on 127.0.0.1 and ::1.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { once } from 'node:events';
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { binding } from './binding.js';
import {
  forEachDatagram, SPILL_STRIDE, nativeIo, openUdp, parseUdpIo, udpIo, udpIoFor,
  type BatchSocket, type UdpError, type UdpIoPreference,
} from './index.js';

const native = udpIo.mode !== 'dgram';
const noNative = !native && `native batched UDP unavailable: ${udpIo.reason}`;
const RCVBUF = 4 << 20;
const SLOT = 9000;
const T = { timeout: 20_000 };

/** Frame i, `len` bytes: its index, then a pattern of it, so that a swap or a shift shows. */
function frame(i: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  for (let k = 0; k < len; k++) b[k] = (i * 131 + k * 7 + (k >> 8)) & 0xff;
  if (len >= 4) b.writeUInt32BE(i);
  return b;
}

/** Runs of one size (some longer than a GSO message holds), single odd sizes, a 1-byte frame. */
const SIZES = [
  ...Array<number>(20).fill(1472), 1000, ...Array<number>(3).fill(1472), ...Array<number>(4).fill(8972), 8000, 1, 64, 64, 64,
  ...Array<number>(70).fill(1472), 1471, ...Array<number>(10).fill(512), 3, ...Array<number>(100).fill(1200), 17,
];

function packed(sizes: readonly number[]): { buffer: Buffer; lengths: Uint32Array; frames: Buffer[] } {
  const frames = sizes.map((len, i) => frame(i, len));
  return { buffer: Buffer.concat(frames), lengths: Uint32Array.from(sizes), frames };
}

async function recvAll(sock: BatchSocket, n: number, slotSize = SLOT, ms = 5000): Promise<Buffer[]> {
  const ring = Buffer.alloc(64 * slotSize);
  const lengths = new Uint32Array(64);
  const out: Buffer[] = [];
  const deadline = Date.now() + ms;
  while (out.length < n && Date.now() < deadline) {
    const got = await sock.recvBatch(ring, slotSize, 64, lengths, 100);
    for (let i = 0; i < got; i++) out.push(Buffer.from(ring.subarray(i * slotSize, i * slotSize + Math.min(lengths[i]!, slotSize))));
  }
  return out;
}

async function plainReceiver(family: 4 | 6): Promise<{ port: number; got: Buffer[]; close(): void }> {
  const s = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', recvBufferSize: RCVBUF });
  s.bind(0, family === 6 ? '::1' : '127.0.0.1');
  await once(s, 'listening');
  const got: Buffer[] = [];
  s.on('message', (m) => got.push(m));
  return { port: s.address().port, got, close: () => s.close() };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  for (const deadline = Date.now() + ms; !cond() && Date.now() < deadline;) await sleep(10);
}

function assertFrames(got: readonly Buffer[], frames: readonly Buffer[]): void {
  assert.equal(got.length, frames.length, 'every datagram arrives, separately');
  for (let i = 0; i < frames.length; i++) {
    if (!got[i]!.equals(frames[i]!)) assert.fail(`datagram ${i}: ${got[i]!.length} bytes, not the ${frames[i]!.length} sent, or other bytes`);
  }
}

const PATHS: { name: string; io: UdpIoPreference; skip: string | false }[] = [
  { name: 'native', io: 'auto', skip: noNative },
  { name: 'mmsg', io: 'mmsg', skip: noNative },
  { name: 'dgram', io: 'dgram', skip: false },
];

test('the path: native unless DIODESYNC_NATIVE=0 (a compiler and Linux are here), gso where the kernel has UDP_SEGMENT', () => {
  if (process.env.DIODESYNC_NATIVE === '0') {
    assert.equal(udpIo.mode, 'dgram');
    assert.match(udpIo.reason, /DIODESYNC_NATIVE=0/);
  } else if (process.env.DIODESYNC_IO) {
    assert.equal(udpIo.mode, process.env.DIODESYNC_IO === 'auto' ? udpIo.mode : process.env.DIODESYNC_IO);
  } else {
    assert.equal(nativeIo.available, true, nativeIo.reason);
    assert.notEqual(udpIo.mode, 'dgram', udpIo.reason);
    assert.equal(udpIo.mode === 'gso', binding!.udpProbe().gso);
  }
  const forced = udpIoFor('dgram');
  assert.equal(forced.mode, 'dgram');
  if (native) assert.match(forced.reason, /^io=dgram asked for \((gso|mmsg) available\)$/);
  if (native) assert.equal(udpIoFor('mmsg').mode, 'mmsg');
  assert.equal(parseUdpIo('gso'), 'gso');
  assert.throws(() => parseUdpIo('fast'), TypeError);
});

test('DIODESYNC_IO=dgram and DIODESYNC_NATIVE=0 select node:dgram, and say why', () => {
  const url = new URL('./index.js', import.meta.url).href;
  const run = (env: Record<string, string>) => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e',
      `import { udpIo, openUdp } from ${JSON.stringify(url)};
       const s = await openUdp({ bind: { address: '127.0.0.1' } });
       console.log(JSON.stringify({ ...udpIo, socket: s.io.mode }));
       await s.close();`], { env: { ...process.env, DIODESYNC_NATIVE: '', DIODESYNC_IO: '', ...env }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { mode: string; reason: string; socket: string };
  };
  const off = run({ DIODESYNC_NATIVE: '0' });
  assert.deepEqual(off, { mode: 'dgram', reason: 'native addon not used: disabled by DIODESYNC_NATIVE=0', socket: 'dgram' });
  const forced = run({ DIODESYNC_IO: 'dgram' });
  assert.equal(forced.mode, 'dgram');
  assert.equal(forced.socket, 'dgram');
  if (native) assert.match(forced.reason, /^DIODESYNC_IO=dgram asked for \((gso|mmsg) available\)$/);
  if (native) assert.equal(run({ DIODESYNC_IO: 'mmsg' }).socket, 'mmsg');
  assert.match(run({ DIODESYNC_IO: 'turbo' }).reason, /DIODESYNC_IO="turbo" ignored/);
});

for (const family of [4, 6] as const) {
  const host = family === 6 ? '::1' : '127.0.0.1';
  for (const tx of PATHS) {
    describe(`IPv${family}, sending by ${tx.name}`, { skip: tx.skip }, () => {
      for (const rx of PATHS) {
        test(`varied sizes, packed, to a ${rx.name} recvBatch: each datagram separate, identical, in order`, { ...T, skip: rx.skip }, async () => {
          const r = await openUdp({ bind: { address: host }, rcvbuf: RCVBUF, io: rx.io });
          const s = await openUdp({ connect: { address: host, port: r.port }, io: tx.io });
          try {
            assert.equal(s.family, family);
            assert.equal(r.io.mode, rx.io === 'auto' ? udpIo.mode : rx.io);
            const { buffer, lengths, frames } = packed(SIZES);
            // Batches of 64, as the sender will; the buffer is reused at once.
            for (let i = 0; i < frames.length; i += 64) {
              const n = Math.min(64, frames.length - i);
              const start = lengths.subarray(0, i).reduce((a, b) => a + b, 0);
              const p = s.sendBatch(buffer.subarray(start), lengths.subarray(i, i + n));
              if (p) await p;
            }
            await s.flush();
            assertFrames(await recvAll(r, frames.length), frames);
            assert.equal(s.io.mode, tx.io === 'auto' ? udpIo.mode : tx.io, s.io.reason);
            assert.equal(r.dropped, 0);
          } finally {
            await s.close();
            await r.close();
          }
        });
      }

      test('fixed frame size (last one short), to a plain node:dgram socket, unconnected with `to`', T, async () => {
        const r = await plainReceiver(family);
        const s = await openUdp({ family, io: tx.io });
        try {
          const frames = [...Array<number>(150).fill(1472), 99].map((len, i) => frame(i, len));
          const buffer = Buffer.concat(frames);
          const p = s.sendBatch(buffer, 1472, undefined, { address: host, port: r.port });
          if (p) await p;
          await s.flush();
          await until(() => r.got.length >= frames.length);
          assertFrames(r.got, frames);
        } finally {
          await s.close();
          r.close();
        }
      });

      test('frames at offsets (slots of a ring), lengths or a fixed size', T, async () => {
        const r = await openUdp({ bind: { address: host }, rcvbuf: RCVBUF, io: 'auto' });
        const s = await openUdp({ connect: { address: host, port: r.port }, io: tx.io });
        try {
          const ring = Buffer.alloc(10 * 2048);
          const sizes = [1472, 1472, 1472, 7, 1472, 300, 300, 2048, 1, 1472];
          const frames = sizes.map((len, i) => frame(i, len));
          frames.forEach((f, i) => f.copy(ring, (9 - i) * 2048));
          const offsets = Uint32Array.from(sizes, (_, i) => (9 - i) * 2048);
          await s.sendBatch(ring, Uint32Array.from(sizes), undefined, undefined, offsets);
          await s.sendBatch(ring, 2048, 3, undefined, Uint32Array.from([0, 4096, 2048]));
          await s.flush();
          const got = await recvAll(r, 13);
          assertFrames(got.slice(0, 10), frames);
          assert.deepEqual(got.slice(10), [ring.subarray(0, 2048), ring.subarray(4096, 6144), ring.subarray(2048, 4096)]);
        } finally {
          await s.close();
          await r.close();
        }
      });
    });
  }
}

describe('GSO', { skip: udpIo.mode !== 'gso' && `no GSO here: ${udpIo.reason}` }, () => {
  test('runs of one size go as GSO (the socket stays gso), and arrive separately with GRO off', T, async () => {
    const r = await openUdp({ bind: { address: '127.0.0.1' }, rcvbuf: RCVBUF });
    const s = await openUdp({ connect: { address: '127.0.0.1', port: r.port } });
    try {
      assert.equal(r.io.gro, false);
      const frames = [...Array<number>(300).fill(1472), 5].map((len, i) => frame(i, len));
      s.sendBatch(Buffer.concat(frames), 1472);
      assert.deepEqual({ mode: s.io.mode, reason: s.io.reason }, udpIo);
      assertFrames(await recvAll(r, frames.length), frames);
    } finally {
      await s.close();
      await r.close();
    }
  });

  test('with GRO on, the kernel hands over whole GSO messages and says the segment size; forEachDatagram splits them', T, async (t) => {
    const r = await openUdp({ bind: { address: '127.0.0.1' }, rcvbuf: RCVBUF, gro: true });
    const s = await openUdp({ connect: { address: '127.0.0.1', port: r.port } });
    try {
      if (!r.io.gro) return t.skip(`UDP_GRO unavailable: ${binding!.udpProbe().reason}`);
      assert.throws(() => r.recvBatch(Buffer.alloc(9000), 9000, 1, new Uint32Array(1), 0), /with GRO on, slots must hold 65535 bytes/);
      const frames = [...Array<number>(100).fill(1472), 5, ...Array<number>(20).fill(8972)].map((len, i) => frame(i, len));
      s.sendBatch(Buffer.concat(frames), Uint32Array.from(frames, (f) => f.length));
      const slot = 65536;
      const ring = Buffer.alloc(16 * slot);
      const lengths = new Int32Array(16);
      const segments = new Int32Array(16);
      const got: Buffer[] = [];
      let coalesced = 0;
      for (const deadline = Date.now() + 5000; got.length < frames.length && Date.now() < deadline;) {
        const n = await r.recvBatch(ring, slot, 16, lengths, 100, 0, segments);
        for (let i = 0; i < n; i++) {
          if (segments[i]! > 0) coalesced++;
          forEachDatagram(lengths[i]!, segments[i]!, (off, len) => got.push(Buffer.from(ring.subarray(i * slot + off, i * slot + off + len))));
        }
      }
      assertFrames(got, frames);
      assert.ok(coalesced > 0, 'at least one slot held a whole GSO message');
    } finally {
      await s.close();
      await r.close();
    }
  });

  test('a kernel that refuses GSO (EINVAL) turns it off for the socket, and the batch goes by sendmmsg', T, async () => {
    const r = await openUdp({ bind: { address: '127.0.0.1' }, rcvbuf: RCVBUF });
    // SO_NO_CHECK: the kernel refuses UDP_SEGMENT messages with EINVAL.
    const raw = new binding!.UdpSocket!({
      family: 4, bindAddress: '127.0.0.1', bindPort: 0, connectAddress: '127.0.0.1', connectPort: r.port, reuseAddr: false,
      broadcast: false, sndbuf: 0, rcvbuf: 0, multicastTtl: -1, multicastLoop: -1, gso: true, gro: false, sendTimeoutMs: 1000, noCheck: true,
    });
    try {
      assert.equal(raw.info().gso, true);
      const frames = [1, 1472, 1472, 1472, 1472, 200, 1472].map((len, i) => frame(i, len));
      assert.equal(raw.sendBatch(Buffer.concat(frames), Uint32Array.from(frames, (f) => f.length), 0, frames.length, null), frames.length);
      assert.equal(raw.info().gso, false);
      assert.match(raw.info().gsoReason, /^UDP_SEGMENT refused by the kernel \(EINVAL\)/);
      assertFrames(await recvAll(r, frames.length), frames);
    } finally {
      raw.close();
      await r.close();
    }
  });
});

for (const p of PATHS) {
  describe(`recvBatch, ${p.name}`, { skip: p.skip }, () => {
    test('with a timeout, returns 0 and does not hang; 0 returns at once', T, async () => {
      const r = await openUdp({ bind: { address: '127.0.0.1' }, io: p.io });
      try {
        const ring = Buffer.alloc(4 * 2048);
        const lengths = new Uint32Array(4);
        let t0 = performance.now();
        assert.equal(await r.recvBatch(ring, 2048, 4, lengths, 0), 0);
        assert.ok(performance.now() - t0 < 50);
        t0 = performance.now();
        assert.equal(await r.recvBatch(ring, 2048, 4, lengths, 80), 0);
        const waited = performance.now() - t0;
        assert.ok(waited >= 70 && waited < 2000, `waited ${waited} ms`);
      } finally {
        await r.close();
      }
    });

    test('a datagram longer than the slot is cut, and its length says so', T, async () => {
      const r = await openUdp({ bind: { address: '127.0.0.1' }, io: p.io });
      const s = await openUdp({ connect: { address: '127.0.0.1', port: r.port }, io: p.io });
      try {
        const big = frame(1, 3000);
        await s.sendBatch(Buffer.concat([big, frame(2, 10)]), Uint32Array.from([3000, 10]));
        const ring = Buffer.alloc(4 * 1000);
        const lengths = new Uint32Array(8);
        let n = 0;
        for (const deadline = Date.now() + 5000; n < 2 && Date.now() < deadline;) n += await r.recvBatch(ring, 1000, 4 - n, lengths, 100, n);
        assert.equal(n, 2);
        assert.deepEqual([...lengths.subarray(0, 2)], [3000, 10]);
        assert.deepEqual(ring.subarray(0, 1000), big.subarray(0, 1000));
        assert.deepEqual(ring.subarray(1000, 1010), frame(2, 10));
      } finally {
        await s.close();
        await r.close();
      }
    });

    test('recvPacked: datagrams at a stride, the rest of a longer one in the spill, nothing cut', T, async () => {
      const r = await openUdp({ bind: { address: '127.0.0.1' }, io: p.io });
      const s = await openUdp({ connect: { address: '127.0.0.1', port: r.port }, io: p.io });
      try {
        const sizes = [100, 1472, 3000, 7, 65_000];
        const frames = sizes.map((len, i) => frame(i, len));
        await s.sendBatch(Buffer.concat(frames), Uint32Array.from(sizes));
        const stride = 1472;
        const at = 32;
        const ring = Buffer.alloc(at + sizes.length * stride);
        const spill = Buffer.alloc(sizes.length * SPILL_STRIDE);
        const lengths = new Int32Array(3 + sizes.length);
        const segments = new Int32Array(3 + sizes.length).fill(-1);
        assert.throws(() => r.recvPacked(ring, at + 1, stride, sizes.length, spill, lengths, segments, 3, 0), RangeError);
        assert.throws(() => r.recvPacked(ring, at, stride, sizes.length, spill.subarray(1), lengths, segments, 3, 0), RangeError);
        let n = 0;
        // One call may return fewer (node:dgram: what one turn of its event loop brought): then all again from there.
        for (const deadline = Date.now() + 5000; n < sizes.length && Date.now() < deadline;) {
          const left = sizes.length - n;
          const got = await r.recvPacked(ring.subarray(0, at + (n + left) * stride), at + n * stride, stride, left, spill.subarray(n * SPILL_STRIDE), lengths, segments, 3 + n, 100);
          n += got;
        }
        assert.equal(n, sizes.length);
        assert.deepEqual([...lengths.subarray(3)], sizes);
        assert.deepEqual([...segments.subarray(0, 3)], [-1, -1, -1]);
        assert.deepEqual([...segments.subarray(3)], [0, 0, 0, 0, 0]);
        for (let i = 0; i < sizes.length; i++) {
          const len = sizes[i]!;
          const whole = Buffer.concat([ring.subarray(at + i * stride, at + i * stride + Math.min(len, stride)),
            len > stride ? spill.subarray(i * SPILL_STRIDE + stride, i * SPILL_STRIDE + len) : Buffer.alloc(0)]);
          assert.ok(whole.equals(frames[i]!), `datagram ${i} (${len} bytes) whole`);
        }
      } finally {
        await s.close();
        await r.close();
      }
    });

    test('into a SharedArrayBuffer, from a worker thread, which stops when told', T, async () => {
      const N = 200;
      const shared = { ring: new SharedArrayBuffer(N * 2048), lengths: new SharedArrayBuffer(N * 4), ctl: new SharedArrayBuffer(8) };
      const worker = new Worker(`
        const { workerData, parentPort } = require('node:worker_threads');
        (async () => {
          const { openUdp } = await import(workerData.index);
          const sock = await openUdp({ bind: { address: '127.0.0.1' }, rcvbuf: ${RCVBUF}, io: workerData.io });
          const ring = Buffer.from(workerData.ring);
          const lengths = new Uint32Array(workerData.lengths);
          const ctl = new Int32Array(workerData.ctl); // [0] stop, [1] slots filled
          parentPort.postMessage({ port: sock.port, mode: sock.io.mode });
          let got = 0;
          while (!Atomics.load(ctl, 0) && got < ${N}) {
            got += await sock.recvBatch(ring, 2048, Math.min(64, ${N} - got), lengths, 50, got);
            Atomics.store(ctl, 1, got);
          }
          await sock.close();
          parentPort.postMessage({ got });
        })().catch((e) => parentPort.postMessage({ error: e.stack }));`,
      { eval: true, workerData: { index: new URL('./index.js', import.meta.url).href, io: p.io, ...shared } });
      try {
        const [ready] = await once(worker, 'message') as [{ port: number; mode: string; error?: string }];
        assert.equal(ready.error, undefined);
        assert.equal(ready.mode, p.io === 'auto' ? udpIo.mode : p.io);
        const finished = once(worker, 'message'); // before anything is sent: it may come at any turn from now
        const s = await openUdp({ connect: { address: '127.0.0.1', port: ready.port }, io: p.io });
        const frames = Array.from({ length: N }, (_, i) => frame(i, 100 + ((i * 37) % 1900)));
        const { buffer, lengths } = packed(frames.map((f) => f.length));
        for (let i = 0, at = 0; i < N; i += 50) {
          const batch = lengths.subarray(i, i + 50);
          await s.sendBatch(buffer.subarray(at), batch);
          at += batch.reduce((a, b) => a + b, 0);
        }
        await s.close();
        const [done] = await finished as [{ got: number; error?: string }];
        assert.deepEqual(done, { got: N });
        // Read in this thread, where the worker wrote them: no copies between.
        const ring = Buffer.from(shared.ring);
        const lens = new Uint32Array(shared.lengths);
        assertFrames(Array.from({ length: N }, (_, i) => ring.subarray(i * 2048, i * 2048 + lens[i]!)), frames);

        // A second worker with nothing to receive stops within its timeout when told.
        const ctl = new Int32Array(new SharedArrayBuffer(8));
        const idle = new Worker(`
          const { workerData, parentPort } = require('node:worker_threads');
          (async () => {
            const { openUdp } = await import(workerData.index);
            const sock = await openUdp({ bind: { address: '127.0.0.1' }, io: workerData.io });
            const ring = Buffer.from(new SharedArrayBuffer(8 * 2048));
            const ctl = new Int32Array(workerData.ctl);
            parentPort.postMessage('ready');
            let rounds = 0;
            while (!Atomics.load(ctl, 0)) rounds += 1 + (await sock.recvBatch(ring, 2048, 8, new Uint32Array(8), 50));
            await sock.close();
            parentPort.postMessage({ rounds });
          })().catch((e) => parentPort.postMessage({ error: e.stack }));`,
        { eval: true, workerData: { index: new URL('./index.js', import.meta.url).href, io: p.io, ctl: ctl.buffer } });
        const exited = once(idle, 'exit');
        assert.equal((await once(idle, 'message'))[0], 'ready');
        await sleep(120);
        const t0 = performance.now();
        const stoppedMessage = once(idle, 'message');
        Atomics.store(ctl, 0, 1);
        const [stopped] = await stoppedMessage as [{ rounds: number }];
        assert.ok(stopped.rounds >= 1, JSON.stringify(stopped));
        assert.ok(performance.now() - t0 < 1000);
        await exited;
      } finally {
        Atomics.store(new Int32Array(shared.ctl), 0, 1);
        await worker.terminate();
      }
    });
  });

  describe(`errors, ${p.name}`, { skip: p.skip }, () => {
    test('binding a port in use: EADDRINUSE', T, async () => {
      const a = await openUdp({ bind: { address: '127.0.0.1' }, io: p.io });
      try {
        await assert.rejects(openUdp({ bind: { address: '127.0.0.1', port: a.port }, io: p.io }), (err: UdpError) => {
          assert.equal(err.code, 'EADDRINUSE');
          assert.equal(err.errno, -98);
          assert.equal(err.syscall, 'bind');
          return true;
        });
      } finally {
        await a.close();
      }
    });

    test('a closed socket: EBADF, from sendBatch and recvBatch', T, async () => {
      const s = await openUdp({ connect: { address: '127.0.0.1', port: 9 }, io: p.io });
      await s.close();
      for (const call of [() => s.sendBatch(Buffer.alloc(10), 10), () => s.recvBatch(Buffer.alloc(10), 10, 1, new Uint32Array(1), 0)]) {
        assert.throws(call, (err: UdpError) => {
          assert.equal(err.code, 'EBADF');
          assert.equal(err.errno, -9);
          assert.match(err.message, /^EBADF: bad file descriptor, (sendmmsg|recvmmsg)$/);
          return true;
        });
      }
    });

    test('a peer that went away (ICMP port unreachable) is counted in `refused`, never thrown', T, async () => {
      const gone = await openUdp({ bind: { address: '127.0.0.1' } });
      const port = gone.port;
      await gone.close();
      const s = await openUdp({ connect: { address: '127.0.0.1', port }, io: p.io });
      try {
        const buffer = Buffer.alloc(100 * 64);
        for (let i = 0; i < 20 && s.refused === 0; i++) {
          await s.sendBatch(buffer, 100);
          await sleep(20);
        }
        await s.flush();
        assert.ok(s.refused > 0, 'ECONNREFUSED seen and counted');
      } finally {
        await s.close();
      }
    });

    test('a datagram too large for UDP: EMSGSIZE (natively at once, with the frames sent before; else at flush)', T, async () => {
      const r = await openUdp({ bind: { address: '127.0.0.1' }, rcvbuf: RCVBUF });
      const s = await openUdp({ connect: { address: '127.0.0.1', port: r.port }, io: p.io });
      try {
        const check = (err: UdpError) => {
          assert.equal(err.code, 'EMSGSIZE');
          if (p.io !== 'dgram') {
            assert.equal(err.sent, 2);
            assert.match(err.message, /^EMSGSIZE: message too long, sendmmsg$/);
          }
          return true;
        };
        const sizes = Uint32Array.from([100, 100, 65508, 100]);
        if (p.io === 'dgram') {
          await s.sendBatch(Buffer.alloc(65808), sizes);
          await assert.rejects(s.flush(), check);
        } else {
          assert.throws(() => s.sendBatch(Buffer.alloc(65808), sizes), check);
        }
        assert.ok((await recvAll(r, 2, 2048, 1000)).length >= 2, 'the frames before it went');
      } finally {
        await s.close();
        await r.close();
      }
    });

    test('`to` on a connected socket: EISCONN; none on an unconnected one: EDESTADDRREQ; nothing sent', T, async () => {
      const r = await openUdp({ bind: { address: '127.0.0.1' } });
      const connected = await openUdp({ connect: { address: '127.0.0.1', port: r.port }, io: p.io });
      const unconnected = await openUdp({ io: p.io });
      try {
        const code = (c: string) => (err: UdpError) => err.code === c && err.syscall === 'sendmmsg';
        assert.throws(() => connected.sendBatch(Buffer.alloc(10), 10, 1, { address: '127.0.0.1', port: r.port }), code('EISCONN'));
        assert.throws(() => unconnected.sendBatch(Buffer.alloc(10), 10), code('EDESTADDRREQ'));
        await connected.flush();
        await unconnected.flush();
        assert.equal(await r.recvBatch(Buffer.alloc(100), 100, 1, new Uint32Array(1), 100), 0);
      } finally {
        await connected.close();
        await unconnected.close();
        await r.close();
      }
    });

    test('frames beyond the buffer, slots beyond the ring: RangeError, nothing sent', T, async () => {
      const s = await openUdp({ connect: { address: '127.0.0.1', port: 9 }, io: p.io });
      try {
        assert.throws(() => s.sendBatch(Buffer.alloc(100), Uint32Array.from([50, 51])), RangeError);
        assert.throws(() => s.sendBatch(Buffer.alloc(100), 10, 11), RangeError);
        assert.throws(() => s.sendBatch(Buffer.alloc(100), 10, 1, undefined, Uint32Array.from([91])), RangeError);
        assert.throws(() => s.recvBatch(Buffer.alloc(100), 10, 11, new Uint32Array(11), 0), RangeError);
        assert.throws(() => s.recvBatch(Buffer.alloc(100), 10, 10, new Uint32Array(9), 0), RangeError);
        assert.throws(() => s.recvBatch(Buffer.alloc(100), 10, 5, new Uint32Array(10), 0, 6), RangeError);
        await s.flush();
      } finally {
        await s.close();
      }
    });
  });

  test(`multicast on loopback (group joined on 127.0.0.1), ${p.name}`, { ...T, skip: p.skip }, async () => {
    const group = '239.255.42.98';
    const probe = await openUdp({ bind: { address: '127.0.0.1' } });
    const port = probe.port;
    await probe.close();
    const r = await openUdp({ bind: { address: group, port }, reuseAddr: true, join: { group, interface: '127.0.0.1' }, rcvbuf: RCVBUF, io: p.io });
    const s = await openUdp({ connect: { address: group, port }, multicastInterface: '127.0.0.1', multicastTtl: 0, multicastLoop: true, io: p.io });
    try {
      const frames = Array.from({ length: 10 }, (_, i) => frame(i, 1000));
      await s.sendBatch(Buffer.concat(frames), 1000);
      assertFrames(await recvAll(r, 10), frames);
    } finally {
      await s.close();
      await r.close();
    }
  });
}

test('forEachDatagram: one datagram without a segment size, else segments and a shorter last one', () => {
  const seen: [number, number][] = [];
  assert.equal(forEachDatagram(100, 0, (o, l) => seen.push([o, l])), 1);
  assert.equal(forEachDatagram(3000, 1472, (o, l) => seen.push([o, l])), 3);
  assert.equal(forEachDatagram(1472, 1472, (o, l) => seen.push([o, l])), 1);
  assert.deepEqual(seen, [[0, 100], [0, 1472], [1472, 1472], [2944, 56], [0, 1472]]);
});

test('socket sizes: SO_SNDBUF/SO_RCVBUF as granted, the bound port and address', { skip: noNative }, async () => {
  const s = await openUdp({ bind: { address: '::1' }, sndbuf: 1 << 20, rcvbuf: 1 << 20 });
  const d = await openUdp({ bind: { address: '::1' }, sndbuf: 1 << 20, rcvbuf: 1 << 20, io: 'dgram' });
  try {
    assert.equal(s.address, '::1');
    assert.ok(s.port > 0);
    assert.ok(s.sndbuf >= 1 << 20 && s.rcvbuf >= 1 << 20, `${s.sndbuf} ${s.rcvbuf}`); // Linux doubles it
    assert.ok(d.rcvbuf <= s.rcvbuf); // dgram has no SO_RCVBUFFORCE
  } finally {
    await s.close();
    await d.close();
  }
});
