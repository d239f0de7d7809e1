import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseChannelSpec, parseChannelSpecs } from './channel-spec.js';

test('channel specs: NAME=URL and NAME=file:DIR', () => {
  assert.deepEqual(parseChannelSpec('syslog=udp://0.0.0.0:514', ['udp', 'tcp-listen'], false),
    { name: 'syslog', text: 'syslog=udp://0.0.0.0:514', kind: 'endpoint', endpoint: { scheme: 'udp', host: '0.0.0.0', port: 514 } });
  assert.deepEqual(parseChannelSpec('log=file:/var/log/x', ['udp'], true), { name: 'log', text: 'log=file:/var/log/x', kind: 'file', dir: '/var/log/x' });
});

test('bad channel specs give one-line reasons', () => {
  const bad: [string, boolean][] = [['udp://a:1', false], ['=udp://a:1', false], ['a b=udp://a:1', false], ['x=tcp://a:1', false],
    ['x=file:/d', false], ['x=file:', true], ['x=udp://a:99999', false]];
  for (const [text, file] of bad) {
    assert.throws(() => parseChannelSpec(text, ['udp', 'tcp-listen'], file), (e: Error) => e instanceof RangeError && !e.message.includes('\n'), text);
  }
  assert.throws(() => parseChannelSpecs('forward', ['a=udp://h:1', 'a=udp://h:2'], ['udp'], false), /given twice/);
  assert.throws(() => parseChannelSpecs('forward', Array.from({ length: 65 }, (_, i) => `c${i}=udp://h:1`), ['udp'], false), /at most 64/);
});
