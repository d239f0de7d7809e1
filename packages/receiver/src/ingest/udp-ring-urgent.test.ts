import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ctl, RingReader, SLOT_BYTES, WRAP, allocateRing } from './udp-ring.js';

/** Puts datagrams in the ring's next slots as the reader thread would (lengths, then `produced`). */
function produce(ring: ReturnType<typeof allocateRing>, at: number, datagrams: (string | 'wrap')[]): number {
  const data = Buffer.from(ring.data);
  const lengths = new Int32Array(ring.lengths);
  for (const d of datagrams) {
    const slot = at & (ring.slots - 1);
    if (d === 'wrap') {
      lengths[slot] = WRAP;
      at += ring.slots - slot;
      continue;
    }
    data.write(d, slot * SLOT_BYTES);
    lengths[slot] = Buffer.byteLength(d);
    at++;
  }
  Atomics.store(new Int32Array(ring.control), Ctl.produced, at);
  return at;
}

test('urgent datagrams are handed over first, wherever they lie in the ring, each once; the rest in order', () => {
  const ring = allocateRing(0); // the smallest ring: 512 slots
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
  // Across the ring's end, a WRAP marker included.
  seen.length = 0;
  at = produce(ring, at, [...Array.from({ length: 100 }, (_, i) => `g${i}`), 'wrap', 'h0', '!late', 'h1']);
  reader.drain();
  assert.deepEqual(seen, ['!late', ...Array.from({ length: 100 }, (_, i) => `g${i}`), 'h0', 'h1']);
  assert.equal(Atomics.load(new Int32Array(ring.control), Ctl.released), at);
});
