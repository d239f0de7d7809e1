import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError, dashValuesGlued } from './cli-args.js';
import { durationOption, kbitRateOption, rateOption, sizeOption, wholeNumberOption } from './option-values.js';
import { bitRateText, parseBitRate, parseByteSize, parseDuration } from './units.js';

test('rates: b is a bit, B a byte; bytes are refused with the rate in bits they stand for', () => {
  assert.equal(parseBitRate('10Mb'), 10e6);
  assert.equal(parseBitRate('10mbps'), 10e6);
  assert.equal(parseBitRate('1.5g'), 1.5e9);
  assert.equal(parseBitRate('800 kbit/s'), 800e3);
  assert.throws(() => parseBitRate('10MB'), /bytes per second.*did you mean 80m\?/);
  assert.throws(() => parseBitRate('1MiB/s'), /did you mean 8.389m\?/);
  assert.throws(() => parseBitRate('10 bytes'), /did you mean 80\?/);
  for (const [bad, why] of [['-5m', /negative/], ['', /empty/], ['NaN', /not bits per second/], ['0', /above zero/], ['10x', /unknown unit 'x'/], ['1e400', /not bits/]] as const) {
    assert.throws(() => parseBitRate(bad), why, bad);
  }
  assert.equal(bitRateText(83886080), '83.886m');
});

test('sizes are bytes with binary multiples; a lower-case b (bits) is refused', () => {
  for (const text of ['64m', '64M', '64MB', '64MiB', '64 m']) assert.equal(parseByteSize(text), 64 * 1024 ** 2, text);
  assert.equal(parseByteSize('1.5k'), 1536);
  assert.equal(parseByteSize(0), 0);
  assert.throws(() => parseByteSize('64mb'), /b is a bit.*did you mean 64m\?/);
  for (const bad of ['-1g', '', 'NaN', '10x', 'm']) assert.throws(() => parseByteSize(bad), RangeError, bad);
});

test('durations: a bare number is in the option unit, or say ms, s, m, h, d', () => {
  assert.equal(parseDuration('90', 's'), 90);
  assert.equal(parseDuration('5m', 's'), 300);
  assert.equal(parseDuration('2s', 'ms'), 2000);
  assert.equal(parseDuration('30m', 'h'), 0.5);
  assert.equal(parseDuration(12, 'd'), 12);
  for (const bad of ['-5', '', 'soon', '5y', 'NaN']) assert.throws(() => parseDuration(bad, 's'), RangeError, bad);
});

test('option values: one line naming the option, what was given and a value that works', () => {
  const refused = (f: () => unknown, pattern: RegExp) =>
    assert.throws(f, (err: Error) => err instanceof UsageError && pattern.test(err.message) && !err.message.includes('\n'));
  refused(() => rateOption('--rate', '-5m'), /^--rate: '-5m' is negative; e\.g\. --rate 800m$/);
  refused(() => rateOption('--rate', '10MB'), /^--rate: .*did you mean 80m\?$/);
  refused(() => kbitRateOption('-l', 'abc'), /^-l: 'abc' is not a number of kbit\/s; e\.g\. -l 800000$/);
  assert.equal(kbitRateOption('-l', '800'), 800e3);
  refused(() => sizeOption('--min-free', 'lots'), /^--min-free: 'lots' is not a size.*e\.g\. --min-free 64m$/);
  refused(() => durationOption('--heartbeat', '0', 's', '5', true), /^--heartbeat: must be above zero/);
  assert.equal(durationOption('--timeout', '0', 's', '600'), 0);
  refused(() => wholeNumberOption('-R', null, 1, 10, '2'), /^-R: expected a whole number from 1 to 10; e\.g\. -R 2$/);
  refused(() => wholeNumberOption('--workers', 2.5, 1), /whole number >= 1/);
});

test('a value that starts with a dash and a digit is glued to its option, so its check names it', () => {
  assert.deepEqual(dashValuesGlued(['--rate', '-5m', '-R', '-1', '--once']), ['--rate=-5m', '-R=-1', '--once']);
  assert.deepEqual(dashValuesGlued(['--to', '-', 'src']), ['--to', '-', 'src']);
  assert.deepEqual(dashValuesGlued(['--', '--rate', '-5m']), ['--', '--rate', '-5m']);
});
