import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { FifoGate } from './fifo-gate.js';

test('a gate runs at most its limit of tasks at once, the others in the order they came, and passes on results and errors', { timeout: 10_000 }, async () => {
  const gate = new FifoGate(3);
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => gate.run(async () => {
    started.push(i);
    most = Math.max(most, ++running);
    await sleep(i % 4); // finishing out of order does not reorder the line
    running--;
    if (i === 7) throw new Error('seven');
    return i * 2;
  })));
  assert.equal(most, 3);
  assert.deepEqual(started, Array.from({ length: 20 }, (_, i) => i), 'started in the order they came');
  assert.equal(gate.queued, 0);
  results.forEach((r, i) => {
    if (i === 7) assert.equal(r.status === 'rejected' && (r.reason as Error).message, 'seven');
    else assert.deepEqual(r, { status: 'fulfilled', value: i * 2 });
  });
  // A failed task gave its slot back: the gate still runs three at once.
  let now = 0;
  let peak = 0;
  await Promise.all(Array.from({ length: 6 }, () => gate.run(async () => {
    peak = Math.max(peak, ++now);
    await sleep(5);
    now--;
  })));
  assert.equal(peak, 3);
});
