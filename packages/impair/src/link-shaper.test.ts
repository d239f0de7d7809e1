import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinkShaper } from './link-shaper.js';

test('the rate cap paces datagrams and tail-drops what its queue cannot hold', async () => {
  const sentAt: number[] = [];
  const shaper = new LinkShaper(8_000_000, 10_000, () => sentAt.push(performance.now())); // 1000 B = 1 ms
  const start = performance.now();
  for (let i = 0; i < 30; i++) shaper.push(Buffer.alloc(1000));
  // One or two leave at once (1 ms of slack for timer granularity), 10 wait, the rest are dropped.
  assert.ok(shaper.dropped >= 18 && shaper.dropped <= 19, String(shaper.dropped));
  await new Promise((r) => setTimeout(r, 60));
  shaper.stop();
  assert.equal(sentAt.length, 30 - shaper.dropped);
  assert.ok(sentAt.at(-1)! - start >= 9, `paced over ~10 ms, took ${sentAt.at(-1)! - start} ms`);
});
