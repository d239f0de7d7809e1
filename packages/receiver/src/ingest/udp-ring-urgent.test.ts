import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Ctl, RingReader, allocateRing } from './udp-ring.js';
import { listenUdp } from './udp-source.js';

/** Puts datagrams in the ring's next entries as the reader thread would (offsets, lengths, then `produced`). */
function produce(ring: ReturnType<typeof allocateRing>, at: number, datagrams: string[]): number {
  const data = Buffer.from(ring.data);
  const offsets = new Int32Array(ring.offsets);
  const lengths = new Int32Array(ring.lengths);
  for (const d of datagrams) {
    const entry = at & (ring.entries - 1);
    offsets[entry] = entry * 64;
    data.write(d, entry * 64);
    lengths[entry] = Buffer.byteLength(d);
    at++;
  }
  Atomics.store(new Int32Array(ring.control), Ctl.produced, at);
  return at;
}

test('urgent datagrams are handed over first, wherever they lie in the ring, each once; the rest in order', () => {
  const ring = allocateRing(0); // the smallest ring: 512 entries
  assert.equal(ring.entries, 512);
  const seen: string[] = [];
  const reader = new RingReader(ring, (d) => seen.push(d.toString()), () => assert.fail('no drops'), (d) => d[0] === 0x21 /* '!' */);
  // More than one turn's worth (256) of ordinary datagrams, with urgent ones among them.
  const batch = Array.from({ length: 400 }, (_, i) => (i % 100 === 50 ? `!u${i}` : `f${i}`));
  let at = produce(ring, 0, batch);
  reader.drain();
  assert.deepEqual(seen.slice(0, 4), ['!u50', '!u150', '!u250', '!u350'], 'all four urgent ones, before any other');
  assert.equal(seen.length, 4 + 256 - 3, 'then one turn of the others, without the urgent ones again');
  reader.drain();
  assert.deepEqual(seen.slice(4), batch.filter((d) => !d.startsWith('!')));
  // Across the end of the entries (400 + 150 > 512).
  seen.length = 0;
  at = produce(ring, at, [...Array.from({ length: 100 }, (_, i) => `g${i}`), 'h0', '!late', 'h1']);
  reader.drain();
  assert.deepEqual(seen, ['!late', ...Array.from({ length: 100 }, (_, i) => `g${i}`), 'h0', 'h1']);
  assert.equal(Atomics.load(new Int32Array(ring.control), Ctl.released), at);
});

test('a full ring still hands over the datagrams of the kept frame type (stream frames) and drops and counts the others', { timeout: 60_000 }, async (t) => {
  const kept: number[] = [];
  let others = 0;
  let overflow = 0;
  const source = await listenUdp('127.0.0.1', 0, 2 * 1024 * 1024, {
    onDatagram: (d) => (d[5] === 6 ? kept.push(d.readUInt32BE(8)) : others++),
    onOverflow: (n) => (overflow += n),
    onFailure: (err) => assert.fail(err),
    keepWhenFull: 6,
  });
  t.after(() => source.close());
  // 6,000 datagrams while this thread is blocked (the ring of 4,096 entries fills); every 100th has type 6 and its index at byte 8.
  const child = spawn(process.execPath, ['-e', `
    const s = require('node:dgram').createSocket('udp4');
    let left = 6000;
    for (let i = 0; i < 6000; i++) {
      const d = Buffer.alloc(200);
      if (i % 100 === 99) { d[5] = 6; d.writeUInt32BE(i, 8); }
      s.send(d, ${source.port}, '127.0.0.1', () => { if (--left === 0) s.close(); });
    }
  `], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  const stallUntil = Date.now() + 1500;
  while (Date.now() < stallUntil); // busy: the child sends meanwhile
  const deadline = Date.now() + 10_000;
  while (kept.length + others + overflow < 6000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(overflow > 0, 'the full ring dropped others');
  assert.deepEqual(kept.sort((a, b) => a - b), Array.from({ length: 60 }, (_, i) => i * 100 + 99), 'every kept-type datagram arrived, once');
  assert.equal(kept.length + others + overflow, 6000, 'each datagram handed over or counted');
});
