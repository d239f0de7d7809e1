// The bench cannot rot: `node bench/run.mjs --quick` runs every row of issue 14 at small sizes and
// each must print a number (only udpcast and GRO may say "not available (why)": one is a Debian
// package, the other a receiver option). Also: the bench leaves nothing behind in its temp dir.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const RUN = fileURLToPath(new URL('../../bench/run.mjs', import.meta.url));
const ROWS = ['sender', 'receiver', 'paired', 'udpcast', 'paired9000', 'small', 'rss', 'gro', 'capture'];
const MAY_BE_UNAVAILABLE = /^(udpcast|GRO on)/;

interface Row { what: string; figure: number | string; target?: { value: number }; ratio?: number; senderNs?: number; receiverNs?: number }

test('bench --quick: every row of issue 14 prints a figure, with its target and ratio', { timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'diodesync-bench-smoke-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'results.json');
  const scratch = path.join(dir, 'tmp');
  mkdirSync(scratch);
  const child = spawn(process.execPath, [RUN, '--quick', '--only', ROWS.join(','), '--out', out, '--tmp', scratch], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  // SIGTERM first: the bench then kills its own children and removes its temp dir.
  const term = setTimeout(() => child.kill('SIGTERM'), 210_000);
  const kill = setTimeout(() => child.kill('SIGKILL'), 220_000);
  const code = await new Promise((resolve) => child.on('close', resolve));
  clearTimeout(term);
  clearTimeout(kill);
  assert.equal(code, 0, output);

  const rows = (JSON.parse(readFileSync(out, 'utf8')) as { rows: Row[] }).rows;
  const find = (prefix: string) => rows.filter((r) => r.what.startsWith(prefix));
  assert.equal(find('sender alone').length, 2, 'FEC off and FEC 20+4');
  for (const prefix of ['receiver alone', 'paired, 20 MB, 1472 B', 'udpcast', 'paired, 20 MB, 8972 B', 'paired, 1,000 files', 'peak RSS', 'GRO on', 'receive from UDP socket', 'receive from capture://lo']) {
    assert.equal(find(prefix).length, 1, `one row "${prefix}…" in ${rows.map((r) => r.what).join('; ')}`);
  }
  for (const row of rows) {
    if (typeof row.figure !== 'number') {
      assert.match(row.what, MAY_BE_UNAVAILABLE, `${row.what}: ${row.figure}`);
      // Missing, or (one quick run on a loaded machine) not intact: the row still says which.
      assert.match(String(row.figure), /^(not available \(.+\)|no intact run.*)$/);
      continue;
    }
    assert.ok(Number.isFinite(row.figure) && row.figure > 0, `${row.what}: ${row.figure}`);
    if (row.target) assert.ok(Number.isFinite(row.ratio), `${row.what} has a ratio to its target`);
  }
  // CPU per frame where a side of ours runs.
  for (const row of [...find('sender alone'), ...find('paired, 20 MB')]) assert.ok(row.senderNs! > 0, `${row.what}: sender CPU ns/frame`);
  for (const row of [...find('receiver alone'), ...find('paired, 20 MB')]) assert.ok(row.receiverNs! > 0, `${row.what}: receiver CPU ns/frame`);
  assert.match(output, /^\| row \| figure \| target \| ratio \|/m, 'the Markdown table');
  assert.deepEqual(readdirSync(scratch), [], 'the bench removed its temp dir');
});

test('bench --help prints the usage; an unknown argument stops it at once with a one-line error', { timeout: 30_000 }, () => {
  const help = spawnSync(process.execPath, [RUN, '--help'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^npm run bench/);
  assert.match(help.stdout, /--tree-files N/);
  for (const args of [['--onyl', 'million'], ['--only']]) {
    const bad = spawnSync(process.execPath, [RUN, ...args], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(bad.status, 1, `${args.join(' ')}: ${bad.stdout}`);
    assert.equal(bad.stdout, '', 'no row ran');
    assert.match(bad.stderr, /^bench: (unknown argument "--onyl"|--only needs a value)/);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
  }
});
