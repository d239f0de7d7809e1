import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { wrapHelp } from './help-format.js';
import { packageVersion } from './version.js';

const LINE = '  --listen               where frames arrive: udp://HOST:PORT (unicast or multicast group), tcp-listen://HOST:PORT, or - for stdin  [string] [required]';

test('help lines wrap at spaces, under their option, and a word is never cut', () => {
  const words = (text: string) => text.split(/\s+/).filter(Boolean);
  for (const width of [30, 40, 80, 120]) {
    const text = wrapHelp(LINE, width);
    assert.deepEqual(words(text), words(LINE), `width ${width}`);
    for (const line of text.split('\n')) assert.ok(line.length <= width || line.trim().split(' ').length === 1, `${width}: ${line}`);
  }
  // Wide enough: the description keeps its column; too narrow: it goes under the option.
  assert.match(wrapHelp(LINE, 80).split('\n')[1]!, /^ {25}\S/);
  assert.deepEqual(wrapHelp(LINE, 40).split('\n').slice(0, 2), ['  --listen', '      where frames arrive:']);
  assert.equal(wrapHelp(LINE, null), LINE);
  assert.equal(wrapHelp('short', 40), 'short');
});

test('packageVersion: the version of the nearest package.json above a module', () => {
  const own = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  assert.equal(packageVersion(import.meta.url), own);
  assert.equal(packageVersion('file:///nonexistent/dir/x.js'), '0.0.0-unknown');
});
