import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { UsageError } from './cli-args.js';
import { commandWord, parseConfigText, pickKeys, readConfigFile, stripJsonComments, stripTrailingCommas } from './config-file.js';

const usage = (pattern: RegExp) => (err: unknown) => err instanceof UsageError && pattern.test(err.message) && !err.message.includes('\n');

test('config text: comments go, strings that look like comments stay', () => {
  const text = `{
    // the link
    "to": "udp://10.0.0.2:36016", /* a block
       over two lines */ "include": ["docs/**", "a//b", "c/*d*/"],
    "quote": "say \\"//\\"" // after a value
  }`;
  assert.deepEqual(parseConfigText(text, 'f'), { to: 'udp://10.0.0.2:36016', include: ['docs/**', 'a//b', 'c/*d*/'], quote: 'say "//"' });
  // Positions survive, so an error's line and column are the file's.
  assert.equal(stripJsonComments('{ // x\n"a": 1 }').split('\n')[1], '"a": 1 }');
});

test('config text: a trailing comma is allowed, one inside a string is kept', () => {
  const text = '{\n  "include": ["a,]", "b",],\n  "to": "x",\n  // "rate": "1m",\n}';
  assert.deepEqual(parseConfigText(text, 'f'), { include: ['a,]', 'b'], to: 'x' });
  assert.equal(stripTrailingCommas('[1, 2 ,\n]'), '[1, 2  \n]');
  assert.throws(() => parseConfigText('{ "a": 1,, }', 'f'), usage(/invalid JSON/));
});

test('config text: not JSON, or not one object, is a one-line UsageError with the line', () => {
  assert.throws(() => parseConfigText('{\n  // fine\n  "a": 1\n  "b": 2\n}', 'send.json'), usage(/^config file send\.json: invalid JSON: line 4 column 3/));
  assert.throws(() => parseConfigText('["--to"]', 'send.json'), usage(/must hold one JSON object/));
  assert.throws(() => parseConfigText('', 'send.json'), usage(/invalid JSON/));
});

test('config file: a missing file says not found; a directory says so', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'diodesync-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.throws(() => readConfigFile(path.join(dir, 'nope.json')), usage(/^config file not found: .*nope\.json$/));
  assert.throws(() => readConfigFile(dir), usage(/is a directory/));
  writeFileSync(path.join(dir, 'ok.json'), '\uFEFF{ "once": true } // the end, no newline');
  assert.deepEqual(readConfigFile(path.join(dir, 'ok.json')), { once: true });
});

test('commandWord skips options and their values; pickKeys keeps only the keys named', () => {
  const withValue = ['--state', '--config'];
  assert.equal(commandWord(['--config', 'send.json', 'ledger', 'list'], withValue), 'ledger');
  assert.equal(commandWord(['--state', 'status', '--json'], withValue), undefined, 'a value is not the command');
  assert.equal(commandWord(['--once', '/srv/outbox'], withValue), '/srv/outbox');
  assert.equal(commandWord([], withValue), undefined);
  assert.deepEqual(pickKeys({ state: '/s', to: 'udp://x', ledger: '/l' }, ['state', 'ledger']), { state: '/s', ledger: '/l' });
});
