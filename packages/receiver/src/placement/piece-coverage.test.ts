import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PieceCoverage } from './piece-coverage.js';

test('piece ranges merge where they touch or overlap, whatever their order and cycle; a gap keeps the tree from being whole', () => {
  const c = new PieceCoverage();
  c.add({ from: 'm', to: 'r' });
  c.add({ from: undefined, to: 'c' });
  assert.ok(!c.whole);
  assert.ok(c.covers('a') && c.covers('c') && !c.covers('d') && !c.covers('m') && c.covers('n') && c.covers('r') && !c.covers('s'));
  c.add({ from: 'x', to: undefined });
  assert.ok(!c.whole, 'gaps (c, m] and (r, x]');
  // Another cycle's boundaries: overlapping one range, touching another.
  c.add({ from: 'b', to: 'n' });
  assert.ok(!c.whole, '(r, x] is still unknown');
  assert.ok(c.covers('d') && c.covers('m') && !c.covers('s'));
  c.add({ from: 'r', to: 'x' });
  assert.ok(c.whole);
});

test('one piece of the whole tree, or pieces that chain exactly, make it whole; a range short of the end does not', () => {
  const one = new PieceCoverage();
  one.add({ from: undefined, to: undefined });
  assert.ok(one.whole);
  const chain = new PieceCoverage();
  for (const r of [{ from: 'k', to: 'q' }, { from: undefined, to: 'k' }, { from: 'q', to: undefined }]) chain.add(r);
  assert.ok(chain.whole);
  const short = new PieceCoverage();
  short.add({ from: undefined, to: 'z' });
  assert.ok(!short.whole && !short.covers('zz') && short.covers('z'));
});
