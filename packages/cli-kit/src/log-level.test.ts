import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatLogLine } from './log.js';
import { levelTable, logEnabled, setLogThreshold, thresholdFromFlags } from './log-level.js';

test('every JSON log line has a level; a terminal shows only the levels that are not info', () => {
  const now = new Date('2026-01-02T03:04:05Z');
  assert.deepEqual(JSON.parse(formatLogLine('start', { a: 1 }, true, now)), { time: now.toISOString(), level: 'info', event: 'start', a: 1 });
  assert.equal(JSON.parse(formatLogLine('oops', {}, true, now, 'warn')).level, 'warn');
  assert.equal(formatLogLine('start', { a: 1 }, false, now), '03:04:05 start a=1');
  assert.equal(formatLogLine('oops', { a: 'b c' }, false, now, 'error'), '03:04:05 ERROR oops a="b c"');
});

test('-q keeps warnings and errors, -v adds debug; a table gives each event its level', () => {
  assert.equal(thresholdFromFlags(false, false), 'info');
  assert.equal(thresholdFromFlags(true, false), 'warn');
  assert.equal(thresholdFromFlags(undefined, true), 'debug');
  try {
    setLogThreshold('warn');
    assert.deepEqual([logEnabled('debug'), logEnabled('info'), logEnabled('warn'), logEnabled('error')], [false, false, true, true]);
    setLogThreshold('debug');
    assert.ok(logEnabled('debug'));
  } finally {
    setLogThreshold('info');
  }
  const levelOf = levelTable({ warn: ['disk-low'], debug: ['chatter'] });
  assert.deepEqual(['disk-low', 'chatter', 'start'].map(levelOf), ['warn', 'debug', 'info']);
});
