import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WalkPacer, WalkStopped } from './walk-pacer.js';

test('watch mode: a walk every --rescan, paced to take about 3/4 of it; lost events make the next one come now, fast', () => {
  const pacer = new WalkPacer(3_600_000, undefined, new AbortController().signal);
  const before = Date.now();
  pacer.walked(1_000_000); // the first walk, at start
  assert.ok(pacer.nextWalkAt >= before + 3_600_000 && !pacer.walkDue(Date.now()));
  assert.ok(Math.abs(pacer.rate - 1_000_000 / 2700) < 1, '1M entries over 45 minutes');
  pacer.walkSoon();
  assert.ok(pacer.walkDue(Date.now()));
  pacer.started(Date.now());
  assert.equal(pacer.rate, 10_000, 'standing in for lost events: at the top rate');
  pacer.walked(1_000_000);
  pacer.started(Date.now());
  assert.ok(pacer.rate < 10_000, 'then paced again');
});

test('polling: the next walk --poll after the last ended, at a bounded rate; a stopped sender stops a paced walk', async () => {
  const stop = new AbortController();
  const pacer = new WalkPacer(3_600_000, 1000, stop.signal);
  pacer.walked(10);
  assert.ok(pacer.nextWalkAt <= Date.now() + 1000 && pacer.nextWalkAt > Date.now() + 900);
  assert.equal(pacer.rate, 200, 'a small tree: the least rate');
  pacer.walked(10_000_000);
  assert.equal(pacer.rate, 10_000, 'a huge share: at most 10,000 entries a second');
  pacer.started(Date.now());
  const paced = pacer.pace(5_000); // half a second ahead of the pace
  stop.abort();
  await assert.rejects(paced, WalkStopped);
});
