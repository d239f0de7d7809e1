import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binding } from './binding.js';
import { nativeIo, startWriteback, writebackPath } from './index.js';

const forcedOff = process.env.DIODESYNC_NATIVE === '0';
const dir = mkdtempSync(join(tmpdir(), 'diodesync-writeback-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the path is sync_file_range with the addon on Linux, else none, and says why', () => {
  if (forcedOff || !nativeIo.available) assert.match(writebackPath, /^none \(/);
  else assert.equal(writebackPath, 'sync_file_range');
});

test('starting write-back of a file being written is taken, and leaves its bytes as written', async () => {
  const file = join(dir, 'data.bin');
  const fd = openSync(file, 'w+');
  try {
    const block = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < 8; i++) {
      block.fill(i + 1);
      writeSync(fd, block, 0, block.length, i * block.length);
      // A range, then the whole file (length 0: to its end).
      assert.equal(await startWriteback(fd, i * block.length, block.length), writebackPath === 'sync_file_range');
    }
    assert.equal(await startWriteback(fd, 0, 0), writebackPath === 'sync_file_range');
  } finally {
    closeSync(fd);
  }
  const back = readFileSync(file);
  assert.equal(back.length, 8 * 1024 * 1024);
  for (let i = 0; i < 8; i++) assert.equal(back[i * 1024 * 1024 + 12345], i + 1);
});

test('what the kernel refuses (a closed descriptor, a pipe) resolves false, never throws', async () => {
  const fd = openSync(join(dir, 'closed.bin'), 'w');
  closeSync(fd);
  assert.equal(await startWriteback(fd, 0, 0), false);
  const r = spawnSync(process.execPath, ['--input-type=module', '-e',
    `import { startWriteback } from ${JSON.stringify(new URL('./index.js', import.meta.url).href)};
     console.log(await startWriteback(0, 0, 0));`], { input: 'from a pipe', encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'false'); // stdin is a pipe here: ESPIPE
});

test('the addon checks its arguments', { skip: !binding?.startWriteback && 'no addon here (the fallback has nothing to check)' }, () => {
  assert.throws(() => binding!.startWriteback!(-1, 0, 0), TypeError);
  assert.throws(() => binding!.startWriteback!(3, 1.5, 0), TypeError);
});

test('DIODESYNC_NATIVE=0 selects the fallback, which does nothing and says so', () => {
  const url = new URL('./index.js', import.meta.url).href;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e',
    `import { startWriteback, writebackPath } from ${JSON.stringify(url)};
     import { openSync } from 'node:fs';
     console.log(JSON.stringify({ writebackPath, started: await startWriteback(openSync(${JSON.stringify(join(dir, 'fb.bin'))}, 'w'), 0, 0) }));`],
  { env: { ...process.env, DIODESYNC_NATIVE: '0' }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { writebackPath: 'none (native addon not used)', started: false });
});
