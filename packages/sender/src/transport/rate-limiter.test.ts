import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { TokenBucket } from './rate-limiter.js';

// 8 Mb/s: 1000 bytes per ms, a burst of 5 ms = 5000 bytes.
const RATE = 8_000_000;

test('after idle time, a burst of 5 ms goes at once, no more; then the caller waits', async () => {
  const bucket = new TokenBucket(RATE);
  await sleep(30); // 30 ms idle fills the bucket to its burst only
  assert.equal(bucket.take(4000), undefined);
  assert.equal(bucket.take(1000), undefined);
  const wait = bucket.take(2000);
  assert.ok(wait instanceof Promise, 'beyond the burst: wait');
  await wait; // about 2 ms of debt
});

test('the average rate is exact: 250,000 bytes in 1000-byte frames take about 250 ms, never less', async () => {
  const bucket = new TokenBucket(RATE);
  const started = performance.now();
  for (let i = 0; i < 250; i++) await bucket.take(1000);
  const ms = performance.now() - started;
  // Never faster than the rate (less the one burst a start may have); slower only if the machine is.
  assert.ok(ms >= 240, `${ms.toFixed(1)} ms`);
  assert.ok(ms < 2000, `${ms.toFixed(1)} ms`);
});

test('a frame bigger than the burst still goes, on credit: the wait after it pays for it', async () => {
  const bucket = new TokenBucket(RATE);
  await sleep(10);
  const started = performance.now();
  const wait = bucket.take(100_000);
  assert.ok(wait instanceof Promise);
  await wait;
  const ms = performance.now() - started;
  assert.ok(ms >= 90 && ms < 1000, `${ms.toFixed(1)} ms for 100,000 bytes less a 5,000-byte burst`);
});

test('at a low rate the burst is still two 1500-byte frames, so the rate is not capped by timers', async () => {
  const bucket = new TokenBucket(80_000); // 10 bytes per ms: 5 ms would be 50 bytes
  await sleep(400); // 4,000 bytes of credit, capped at 3,000
  assert.equal(bucket.take(1500), undefined);
  assert.equal(bucket.take(1500), undefined);
  assert.ok(bucket.take(1500) instanceof Promise);
});

test('a batch that leaves late leaves room for no more than the burst with it: the tokens of its wait are not granted again', async () => {
  const bucket = new TokenBucket(RATE);
  await sleep(10); // full: 5,000 bytes
  assert.equal(bucket.takeAll(0), 5000);
  // The 5,000 bytes granted are written into a batch, which waits 10 ms (the main thread hashing)
  // and then leaves, with nothing left of the grant.
  await sleep(10);
  bucket.sending(5000);
  const sent = performance.now();
  assert.ok(bucket.takeAll(0) < 100, 'the batch just sent was the burst: nothing more may follow it at once');
  // The rate goes on from there: what the clock says has passed, at 1,000 bytes a ms (a timer can
  // fire early by the clock: libuv starts it from the loop's cached time), never more than the burst.
  await sleep(5);
  const granted = bucket.takeAll(0);
  const due = Math.min(5000, (performance.now() - sent) * 1000);
  assert.ok(granted >= due - 300 && granted <= 5000, `${granted} bytes, ${due.toFixed(0)} due: the rate goes on`);
});

test('bytes held in a batch count against a grant: a grant and the batch together never exceed the burst', async () => {
  const bucket = new TokenBucket(RATE);
  await sleep(10);
  assert.equal(bucket.takeAll(0, 3000), 2000);
});
