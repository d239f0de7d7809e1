import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as zlib from 'node:zlib';
import { crc32Path, crc32Span, nativeIo } from './index.js';

// Node's zlib.crc32 (IEEE, the system zlib) is the reference here.
const reference = (bytes: Uint8Array) => zlib.crc32(bytes);

test('the addon\'s CRC-32 runs where the addon is loaded, pclmul on a CPU that has it', () => {
  assert.equal(crc32Span !== undefined, nativeIo.available);
  if (!nativeIo.available) return assert.equal(crc32Path, 'zlib');
  const cpuHasIt = /\bpclmulqdq\b/.test(spawnSync('cat', ['/proc/cpuinfo'], { encoding: 'utf8' }).stdout) && process.arch === 'x64';
  assert.equal(crc32Path, cpuHasIt ? 'pclmul' : 'table');
});

test('every length across the folding steps (64-byte lanes, 16-byte steps, table tail) and every alignment agrees with zlib', () => {
  if (!crc32Span) return assert.equal(nativeIo.available, false);
  const bytes = randomBytes(4096 + 64);
  let checked = 0;
  for (let start = 0; start < 17; start++) {
    for (let length = 0; length <= 300; length++) {
      assert.equal(crc32Span(bytes, start, start + length), reference(bytes.subarray(start, start + length)), `start ${start}, length ${length}`);
      checked++;
    }
  }
  for (const length of [1424, 1472, 4095, 4096, 8924]) {
    const big = randomBytes(length + 5);
    assert.equal(crc32Span(big, 5, 5 + length), reference(big.subarray(5)), `length ${length}`);
  }
  assert.equal(crc32Span(Buffer.from('123456789'), 0, 9), 0xcbf43926);
  assert.equal(checked, 17 * 301);
});

test('a span outside the bytes, or arguments of the wrong kind, throw instead of reading past the end', () => {
  const span = crc32Span as ((...a: unknown[]) => number) | undefined;
  if (!span) return assert.equal(nativeIo.available, false);
  const bytes = Buffer.alloc(100);
  assert.throws(() => span(bytes, 0, 101), RangeError);
  assert.throws(() => span(bytes, -1, 10), RangeError);
  assert.throws(() => span(bytes, 50, 40), RangeError);
  assert.throws(() => span('text', 0, 1), TypeError);
  assert.throws(() => span(new Uint16Array(4), 0, 1), TypeError);
});

test('the table path (a CPU without PCLMULQDQ, forced by DIODESYNC_CRC_TABLES=1) agrees with zlib at every length and alignment', () => {
  if (!nativeIo.available) return assert.equal(crc32Span, undefined);
  const url = new URL('./index.js', import.meta.url).href;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e',
    `import { crc32Span, crc32Path } from ${JSON.stringify(url)};
     import * as zlib from 'node:zlib';
     const bytes = Buffer.from(Array.from({ length: 9000 }, (_, i) => (i * 2654435761) >>> 24));
     let bad = 0, checked = 0;
     for (let start = 0; start < 9; start++) for (let end = start; end <= 9000; end += end < 300 ? 1 : 97, checked++) if (crc32Span(bytes, start, end) !== zlib.crc32(bytes.subarray(start, end))) bad++;
     console.log(JSON.stringify({ crc32Path, bad, checked }));`],
  { env: { ...process.env, DIODESYNC_CRC_TABLES: '1' }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { crc32Path: string; bad: number; checked: number };
  assert.equal(out.crc32Path, 'table');
  assert.equal(out.bad, 0);
  assert.ok(out.checked > 9 * 300);
});

test('DIODESYNC_NATIVE=0: no addon CRC, and the path says zlib', () => {
  const url = new URL('./index.js', import.meta.url).href;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e',
    `import { crc32Span, crc32Path } from ${JSON.stringify(url)}; console.log(JSON.stringify({ span: typeof crc32Span, crc32Path }));`],
  { env: { ...process.env, DIODESYNC_NATIVE: '0' }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { span: 'undefined', crc32Path: 'zlib' });
});
