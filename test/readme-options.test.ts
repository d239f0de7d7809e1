import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './lib/tree.js';

const GENERATOR = fileURLToPath(new URL('../../scripts/options-docs.mjs', import.meta.url));
const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const generate = (...args: string[]) => spawnSync(process.execPath, [GENERATOR, ...args], { encoding: 'utf8' });

test("the README's option tables are what the CLIs' definitions generate (npm run docs:options)", { timeout: 60_000 }, () => {
  const run = generate('--check');
  assert.equal(run.status, 0, run.stderr);
});

test('the check fails on a README that drifted, and the generator puts it right', { timeout: 60_000 }, async (t) => {
  const dir = await tempDir(t);
  const copy = path.join(dir, 'README.md');
  copyFileSync(README, copy);
  const original = readFileSync(copy, 'utf8');
  const rateRow = original.split('\n').find((line) => line.startsWith('| `--rate` | `100m` |'));
  assert.ok(rateRow, 'the diode-send table has a --rate row');
  writeFileSync(copy, original.replace(`${rateRow}\n`, '').replace('| `--once` | off |', '| `--once` | on |'));
  const check = generate('--check', copy);
  assert.equal(check.status, 1);
  assert.match(check.stderr, /^options-docs: .*README\.md differs from the CLIs' options .*run npm run docs:options\n$/);
  const fix = generate(copy);
  assert.equal(fix.status, 0, fix.stderr);
  assert.equal(readFileSync(copy, 'utf8'), original);
  // Markers missing: said on one line, nothing written.
  writeFileSync(copy, 'no tables here\n');
  const lost = generate(copy);
  assert.equal(lost.status, 1);
  assert.match(lost.stderr, /^options-docs: error: README has no <!-- options:diode-send --> .* markers\n$/);
  assert.equal(readFileSync(copy, 'utf8'), 'no tables here\n');
});
