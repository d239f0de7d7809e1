// The million-file rows (issue 18) cannot rot: `node bench/run.mjs --only million` at 300 files
// runs every phase (tree, first send, verify, idle, one change, restarted receiver) against the
// built CLIs and each row prints a number with its target's ratio; the bench kills what it started
// and leaves nothing in its temp dir. Whether the targets are met is the bench's figure, not this test's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const RUN = fileURLToPath(new URL('../../bench/run.mjs', import.meta.url));

interface Row { what: string; figure: number | string; unit: string; target?: { value: number; atMost?: boolean }; ratio?: number; note?: string }

test('bench --only million at 300 files: every phase prints a figure, with its target and ratio', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'diodesync-bench-million-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'results.json');
  const scratch = path.join(dir, 'tmp');
  mkdirSync(scratch);
  // --manifest-interval 1: the restarted receiver waits for the sender's next manifest, not five minutes.
  const args = [RUN, '--only', 'million', '--tree-files', '300', '--idle-seconds', '2', '--settle', '200', '--manifest-interval', '1', '--out', out, '--tmp', scratch];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  // SIGTERM first: the bench then kills its own children and removes its temp dir.
  const term = setTimeout(() => child.kill('SIGTERM'), 100_000);
  const kill = setTimeout(() => child.kill('SIGKILL'), 110_000);
  const code = await new Promise((resolve) => child.on('close', resolve));
  clearTimeout(term);
  clearTimeout(kill);
  assert.equal(code, 0, output);

  const rows = (JSON.parse(readFileSync(out, 'utf8')) as { rows: Row[] }).rows;
  const row = (part: string) => {
    const found = rows.filter((r) => r.what.startsWith(`million (300 files): ${part}`));
    assert.equal(found.length, 1, `one row "…${part}…" in ${rows.map((r) => `${r.what}: ${r.figure}`).join('; ')}`);
    return found[0]!;
  };
  const measured = (part: string, unit: string, target?: number) => {
    const r = row(part);
    assert.ok(typeof r.figure === 'number' && Number.isFinite(r.figure) && r.figure >= 0, `${r.what}: ${r.figure}`);
    assert.equal(r.unit, unit, r.what);
    if (target !== undefined) {
      assert.deepEqual(r.target, { value: target, atMost: true }, r.what);
      assert.ok(Number.isFinite(r.ratio), `${r.what} has a ratio to its target`);
    }
    return r.figure as number;
  };
  for (const r of rows) assert.doesNotMatch(r.note ?? '', /NaN/, `${r.what}: every sample in the note was taken`);
  measured('tree made', 's');
  assert.ok(measured('first send,', 'files/s') > 0, 'the first send synced');
  measured('sender peak RSS, first send', 'MB', 250);
  measured('receiver peak RSS, first send', 'MB', 250);
  measured('diode-receive verify DEST', 's');
  assert.match(row('diode-receive verify DEST').note ?? '', /^exit 0 \(matches\)/, 'the mirror verifies');
  measured('sender idle CPU', '% of a core', 2);
  measured('sender RSS after idle', 'MB', 250);
  measured('one changed file', 's', 2.2);
  measured('restarted empty receiver', 's', 1);
  assert.match(output, /million \(300 files\) result: \{"files":300,/, 'the JSON result');
  assert.deepEqual(readdirSync(scratch), [], 'the bench removed its temp dir');
});
