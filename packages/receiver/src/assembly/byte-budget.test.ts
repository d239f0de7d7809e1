import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteBudget } from './byte-budget.js';

test('a take that would pass the limit is refused and takes nothing; give makes room again', () => {
  const budget = new ByteBudget(100);
  assert.ok(budget.take(60));
  assert.ok(!budget.take(41));
  assert.equal(budget.held, 60);
  assert.ok(budget.take(40), 'exactly the limit fits');
  assert.ok(!budget.take(1));
  budget.give(50);
  assert.equal(budget.held, 50);
  assert.ok(budget.take(1));
});

test('pressed once more than half is taken', () => {
  const budget = new ByteBudget(100);
  budget.take(50);
  assert.ok(!budget.pressed);
  budget.take(1);
  assert.ok(budget.pressed);
});

test('a share has its own ceiling and counts in the whole budget', () => {
  const whole = new ByteBudget(100);
  const parity = whole.share(25);
  assert.ok(parity.take(20));
  assert.equal(whole.held, 20);
  assert.ok(!parity.take(6), 'beyond the share');
  assert.equal(whole.held, 20, 'a refused share takes nothing from the whole');
  assert.ok(whole.take(76));
  assert.ok(!parity.take(5), 'within the share, but the whole budget is spent');
  assert.equal(parity.held, 20);
  parity.give(20);
  assert.equal(whole.held, 76);
  assert.equal(parity.held, 0);
  assert.ok(parity.take(24));
  assert.ok(!whole.take(1));
});
