import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FrameAuthenticator } from '@diodesync/protocol';
import { UsageError } from './cli-args.js';
import { keyFromFile, parseKeyText, readKeyFile } from './key-file.js';

test('key text: hex or base64 of at least 32 bytes; anything else is refused without echoing it', () => {
  const raw = randomBytes(32);
  assert.deepEqual(parseKeyText(raw.toString('hex') + '\n'), raw);
  assert.deepEqual(parseKeyText(` ${raw.toString('base64')}\n`), raw);
  assert.throws(() => parseKeyText(randomBytes(16).toString('base64')), /at least 32/);
  assert.throws(() => parseKeyText('not a key!'), /hex or base64/);
});

test('a key file that group or others may read is refused with the chmod that fixes it', () => {
  const text = randomBytes(32).toString('base64');
  assert.ok(keyFromFile('k', 0o100600, text));
  assert.ok(keyFromFile('k', 0o100400, text));
  assert.throws(() => keyFromFile('/etc/k', 0o100644, text), /chmod 600 \/etc\/k/);
  assert.throws(() => keyFromFile('k', 0o100660, text), /chmod 600 k/);
  assert.throws(() => keyFromFile('k', 0o100600, 'short'), /key file 'k': key is/);
});

test('readKeyFile: a private key file gives an authenticator; every problem is a one-line UsageError', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'diodesync-key-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const good = path.join(dir, 'good.key');
  writeFileSync(good, randomBytes(32).toString('hex'), { mode: 0o600 });
  assert.ok(readKeyFile(good) instanceof FrameAuthenticator);
  const open = path.join(dir, 'open.key');
  writeFileSync(open, randomBytes(32).toString('hex'), { mode: 0o644 });
  const refused = (file: string, pattern: RegExp) =>
    assert.throws(() => readKeyFile(file), (err: Error) => err instanceof UsageError && pattern.test(err.message) && !err.message.includes('\n'));
  refused(open, /chmod 600/);
  refused(path.join(dir, 'absent.key'), /cannot read key file '.*absent\.key': ENOENT/);
});
