import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Impairment, NO_IMPAIRMENT, type ImpairmentConfig } from './impairment.js';

function run(config: Partial<ImpairmentConfig>, n = 100_000): { out: Buffer[]; impairment: Impairment } {
  const impairment = new Impairment({ ...NO_IMPAIRMENT, ...config });
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const d = Buffer.alloc(8);
    d.writeUInt32BE(i, 0);
    out.push(...impairment.process(d));
  }
  out.push(...impairment.flush());
  return { out, impairment };
}

test('the same seed gives the same channel', () => {
  const config = { seed: 42, loss: 0.05, flip: 0.01, duplicate: 0.01, reorder: 0.01, truncate: 0.01 };
  assert.deepEqual(run(config, 10_000).out, run(config, 10_000).out);
  assert.notDeepEqual(run(config, 10_000).out, run({ ...config, seed: 43 }, 10_000).out);
});

test('random loss is close to its rate', () => {
  const { impairment } = run({ seed: 1, loss: 0.01 });
  assert.ok(Math.abs(impairment.counters.lostRandom - 1000) < 150, String(impairment.counters.lostRandom));
  assert.equal(impairment.counters.forwarded, 100_000 - impairment.counters.lostRandom);
});

test('deterministic bursts drop the last N of every M datagrams', () => {
  const { out, impairment } = run({ burst: { length: 20, every: 1000 } }, 3000);
  assert.equal(impairment.counters.lostBurst, 60);
  const kept = new Set(out.map((d) => d.readUInt32BE(0)));
  assert.ok(kept.has(979) && !kept.has(980) && !kept.has(999) && kept.has(1000));
});

test('a burst pattern shifted by a phase loses other datagrams: two relays, disjoint losses', () => {
  const lost = (phase: number) => {
    const { out } = run({ burst: { length: 1, every: 5, phase } }, 100);
    const kept = new Set(out.map((d) => d.readUInt32BE(0)));
    return [...Array(100).keys()].filter((i) => !kept.has(i));
  };
  assert.deepEqual(lost(0).slice(0, 3), [4, 9, 14]);
  assert.deepEqual(lost(2).slice(0, 3), [1, 6, 11]);
  assert.equal(lost(2).length, 20);
  assert.deepEqual(lost(0).filter((i) => lost(2).includes(i)), []);
});

test('Gilbert-Elliott losses come in bursts of mean length 1/r', () => {
  const { out, impairment } = run({ seed: 3, gilbertElliott: { p: 0.001, r: 0.1, lossBad: 1, lossGood: 0 } });
  const lost = impairment.counters.lostGilbertElliott;
  const indices = out.map((d) => d.readUInt32BE(0));
  let bursts = 0;
  for (let i = 1; i < indices.length; i++) if (indices[i]! - indices[i - 1]! > 1) bursts++;
  const meanBurst = lost / bursts;
  assert.ok(meanBurst > 7 && meanBurst < 14, `mean burst ${meanBurst}`);
  assert.ok(lost > 500 && lost < 1500, `lost ${lost}`);
});

test('duplicates, reordering, flips and truncation do what they say', () => {
  const { out, impairment } = run({ seed: 5, duplicate: 0.1, reorder: 0.1, flip: 0.1, truncate: 0.1 }, 10_000);
  const c = impairment.counters;
  assert.equal(out.length, 10_000 + c.duplicated);
  assert.equal(c.forwarded, out.length);
  assert.ok(c.reordered > 500 && c.flipped > 500 && c.truncated > 500);
  assert.ok(out.some((d) => d.length < 8));
});
