import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SequenceTracker } from './sequence-tracker.js';

test('a forged sequence number far from the stream does not inflate the frames-lost estimate', () => {
  const seq = new SequenceTracker();
  for (let i = 0; i < 100; i++) if (i !== 50) seq.observe(1, i);
  assert.equal(seq.lost, 1);
  seq.observe(1, 2 ** 63);
  seq.observe(1, 0xffff_ffff);
  for (let i = 100; i < 200; i++) if (i !== 150) seq.observe(1, i);
  assert.ok(seq.lost >= 1 && seq.lost <= 2, `lost ${seq.lost}`);
});
