import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { nativeIo, setFileTimes, setFileTimesFallback } from './index.js';
import { fallbackSecondsString, nsToSecondsString } from './times.js';

const forcedOff = process.env.DIODESYNC_NATIVE === '0';

// [name, atimeNs, mtimeNs]; atime differs from mtime so that both are checked.
const TIMES: [string, bigint, bigint][] = [
  ['now-ish, with ns', 1_700_000_000_123_456_789n, 1_700_000_001_987_654_321n],
  ['a whole microsecond', 1_700_000_000_123_457_000n, 1_700_000_000_999_999_000n],
  ['before 1970, with ns', -86_400_123_456_789n, -1_000_000_001n],
  ['before 1970, whole µs', -1_500_000_000n, -1_000n],
  ['after 2038', 4_102_444_800_987_654_321n, 4_102_444_801_000_000_001n],
  ['after 2262 (beyond int64 ns)', 13_569_465_600_000_000_001n, 13_569_465_600_999_999_999n],
  ['the epoch', 0n, 1n],
];

const floorToUs = (ns: bigint): bigint => ns - (((ns % 1000n) + 1000n) % 1000n);

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'diodesync-native-')); });
after(() => { rmSync(dir, { recursive: true, force: true }); });

test('the addon is loaded unless DIODESYNC_NATIVE=0 (a compiler exists here, so it must have built)', () => {
  if (forcedOff) {
    assert.deepEqual(nativeIo, { available: false, reason: 'disabled by DIODESYNC_NATIVE=0' });
    assert.equal(setFileTimes, setFileTimesFallback);
  } else {
    assert.equal(nativeIo.available, true, nativeIo.reason);
    assert.notEqual(setFileTimes, setFileTimesFallback);
  }
});

test('DIODESYNC_NATIVE=0 selects the fallback and says so', () => {
  const url = new URL('./index.js', import.meta.url).href;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e',
    `import { nativeIo, setFileTimes, setFileTimesFallback } from ${JSON.stringify(url)};
     console.log(JSON.stringify({ ...nativeIo, fallback: setFileTimes === setFileTimesFallback }));`],
  { env: { ...process.env, DIODESYNC_NATIVE: '0' }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { available: false, reason: 'disabled by DIODESYNC_NATIVE=0', fallback: true });
});

test('a missing or broken addon selects the fallback and says why', async () => {
  // A copy of this package's dist, whose ../build is ours to spoil.
  const load = async (name: string, build: Record<string, string>) => {
    const pkg = join(dir, name);
    mkdirSync(join(pkg, 'dist'), { recursive: true });
    writeFileSync(join(pkg, 'package.json'), '{"type":"module"}');
    for (const f of ['index.js', 'binding.js', 'times.js', 'udp.js', 'udp-types.js', 'udp-checks.js', 'udp-native.js', 'udp-dgram.js', 'capture.js', 'capture-filter.js', 'writeback.js', 'parity.js', 'crc32.js']) copyFileSync(new URL(`./${f}`, import.meta.url), join(pkg, 'dist', f));
    for (const [f, text] of Object.entries(build)) {
      mkdirSync(join(pkg, 'build', f, '..'), { recursive: true });
      writeFileSync(join(pkg, 'build', f), text);
    }
    return await import(pathToFileURL(join(pkg, 'dist', 'index.js')).href) as typeof import('./index.js');
  };
  const env = process.env.DIODESYNC_NATIVE;
  delete process.env.DIODESYNC_NATIVE;
  try {
    const missing = await load('missing', {});
    assert.equal(missing.nativeIo.available, false);
    assert.match(missing.nativeIo.reason, /^addon not built: .*diodesync_native\.node is missing; `npm run build:addon/);
    assert.equal(missing.setFileTimes, missing.setFileTimesFallback);
    // Parity is then coded by the codec on the thread pool.
    assert.equal(missing.encodeParity, undefined);
    assert.equal(missing.parityPath, 'codec');
    // capture:// has no pure-Node twin: the receiver runs tcpdump, and says why.
    assert.equal(missing.captureIo.available, false);
    assert.match(missing.captureIo.reason, /^addon not built: /);

    const failed = await load('failed', { 'not-built.txt': 'npm install could not compile it (node-gyp rebuild: exit code 1)\n' });
    assert.match(failed.nativeIo.reason, /^addon not built: npm install could not compile it \(node-gyp rebuild: exit code 1\); `npm run/);

    const broken = await load('broken', { 'Release/diodesync_native.node': 'not an ELF file' });
    assert.equal(broken.nativeIo.available, false);
    assert.match(broken.nativeIo.reason, /^addon failed to load: /);
    assert.equal(broken.setFileTimes, broken.setFileTimesFallback);
  } finally {
    if (env !== undefined) process.env.DIODESYNC_NATIVE = env;
  }
});

test('seconds strings are exact, and the fallback aims at the middle of the floored µs', () => {
  assert.equal(nsToSecondsString(-1_500_000_000n), '-1.500000000');
  assert.equal(nsToSecondsString(4_102_444_800_987_654_321n), '4102444800.987654321');
  assert.equal(nsToSecondsString(-1n), '-0.000000001');
  assert.equal(fallbackSecondsString(1_700_000_000_123_457_000n), '1700000000.123457500');
  assert.equal(fallbackSecondsString(-86_400_123_456_789n), '-86400.123457500');
  assert.equal(fallbackSecondsString(-1_000n), '-0.000001500');
  assert.equal(fallbackSecondsString(999n), '0.000000500');
});

const impls = [
  { name: 'native', fn: setFileTimes, exact: (ns: bigint) => ns, maxS: 2n ** 63n, skip: forcedOff && 'DIODESYNC_NATIVE=0' },
  // A double of seconds holds microseconds only below 2^33 s (year 2242).
  { name: 'fallback', fn: setFileTimesFallback, exact: floorToUs, maxS: 2n ** 33n, skip: false },
] as const;

for (const { name, fn, exact, maxS, skip } of impls) {
  describe(`setFileTimes, ${name}`, { skip }, () => {
    for (const [label, atimeNs, mtimeNs] of TIMES) {
      if (atimeNs >= maxS * 1_000_000_000n || mtimeNs >= maxS * 1_000_000_000n) continue;
      test(`${label}: ${atimeNs} / ${mtimeNs} ns`, () => {
        const p = join(dir, `${name}-${label.replace(/\W+/g, '_')}`);
        writeFileSync(p, 'x');
        fn(p, atimeNs, mtimeNs);
        const st = statSync(p, { bigint: true });
        assert.equal(st.mtimeNs, exact(mtimeNs));
        assert.equal(st.atimeNs, exact(atimeNs));
      });
    }

    test('a Buffer path that is not UTF-8', () => {
      const p = Buffer.concat([Buffer.from(join(dir, `${name}-`)), Buffer.from([0x66, 0xff, 0x6f])]);
      writeFileSync(p, 'x');
      fn(p, -1_000_000_001n, 4_102_444_800_987_654_321n);
      const st = statSync(p, { bigint: true });
      assert.equal(st.mtimeNs, exact(4_102_444_800_987_654_321n));
      assert.equal(st.atimeNs, exact(-1_000_000_001n));
    });

    test('a missing file throws ENOENT', () => {
      const p = join(dir, 'no-such-dir', 'f');
      assert.throws(() => fn(p, 0n, 0n), (err: NodeJS.ErrnoException) => {
        assert.equal(err.code, 'ENOENT');
        assert.equal(err.errno, -2);
        assert.equal(err.path, p);
        assert.match(err.message, /^ENOENT: no such file or directory, utim/);
        return true;
      });
    });
  });
}

test('native: arguments that are not bigints, or out of range, are refused', { skip: forcedOff && 'DIODESYNC_NATIVE=0' }, () => {
  const p = join(dir, 'args');
  writeFileSync(p, 'x');
  assert.throws(() => setFileTimes(p, 1 as unknown as bigint, 0n), TypeError);
  assert.throws(() => setFileTimes(p, 0n, 2n ** 64n * 1_000_000_000n), RangeError);
  assert.throws(() => setFileTimes(p, 0n, -(2n ** 130n)), RangeError);
  assert.throws(() => setFileTimes(`${p}\0x`, 0n, 0n), TypeError);
});
