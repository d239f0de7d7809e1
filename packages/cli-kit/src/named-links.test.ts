import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stdioDashAsValue } from './cli-args.js';
import { parseEndpoint } from './endpoint.js';
import { parseNamedLinks } from './named-links.js';

const udpOrStdio = (url: string) => parseEndpoint(url, ['udp', 'stdio']);

test('links are named by NAME= or by their URL', () => {
  const links = parseNamedLinks(['a=udp://127.0.0.1:1', 'udp://127.0.0.1:2', 'b.2=-'], udpOrStdio, '--listen');
  assert.deepEqual(links.map((l) => [l.name, l.url, l.endpoint.port]), [['a', 'udp://127.0.0.1:1', 1], ['udp://127.0.0.1:2', 'udp://127.0.0.1:2', 2], ['b.2', '-', 0]]);
});

test('a name or an address given twice, or a bad address, is a one-line error', () => {
  for (const values of [['a=udp://h:1', 'a=udp://h:2'], ['udp://h:1', 'udp://h:1'], ['-', 'x=-'], ['a=tcp://h:1'], []]) {
    assert.throws(() => parseNamedLinks(values, udpOrStdio, '--listen'), (err: Error) => err instanceof RangeError && !err.message.includes('\n'), values.join(' '));
  }
});

test("every 'OPTION -' is glued to its option", () => {
  assert.deepEqual(stdioDashAsValue(['d', '--listen', '-', '--listen', 'udp://h', '--listen', '-'], '--listen'), ['d', '--listen=-', '--listen', 'udp://h', '--listen=-']);
});
