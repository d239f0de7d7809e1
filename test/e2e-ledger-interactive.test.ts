import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { SEND_CLI, expectUsageError, start } from './lib/cli.js';
import { tempDir } from './lib/tree.js';

/** Runs `diode-send ledger reset --interactive` with `answers` piped on stdin (no TTY); killed after 30 s. */
function interactive(state: string, answers: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [SEND_CLI, 'ledger', 'reset', '--interactive', '--state', state], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  child.stdin.end(answers);
  return new Promise((resolve) => child.on('close', (code) => {
    clearTimeout(timer);
    resolve({ code, stdout, stderr });
  }));
}

async function ledgerJson(state: string, action: 'list' | 'stats'): Promise<any> {
  const { code, stdout, stderr } = await start(SEND_CLI, ['ledger', action, '--json', '--state', state]).exited;
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout);
}

const statuses = async (state: string) => Object.fromEntries((await ledgerJson(state, 'list')).map((v: { path: string; status: string }) => [v.path, v.status]));

/** A tree of three files sent once, and its ledger. */
async function sentTree(t: Parameters<typeof tempDir>[0]): Promise<{ dir: string; state: string }> {
  const dir = await tempDir(t);
  const src = path.join(dir, 'src');
  await mkdir(path.join(src, 'docs'), { recursive: true });
  await writeFile(path.join(src, 'a.txt'), 'a');
  await writeFile(path.join(src, 'docs', 'b.md'), 'bb');
  await writeFile(path.join(src, 'docs', 'c.md'), 'ccc');
  const state = path.join(dir, 'state');
  const { code, stderr } = await start(SEND_CLI, [src, '--to', 'udp://127.0.0.1:9', '--once', '-R', '1', '--state', state]).exited;
  assert.equal(code, 0, stderr);
  return { dir, state };
}

test('interactive reset by path and regex: the preview shows the versions chosen, "y" resets exactly those', { timeout: 120_000 }, async (t) => {
  const { state } = await sentTree(t);
  // A bad regex is refused and asked again; an empty choice with criteria given means preview.
  const run = await interactive(state, '2\ndocs/**\n3\n(\n3\nb\\.md$\n\ny\n');
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /2 version\(s\) match/);
  assert.match(run.stdout, /not taken: --regex: Invalid regular expression/);
  const preview = run.stdout.slice(run.stdout.indexOf('STATUS'), run.stdout.indexOf('Reset these?'));
  assert.match(preview, /docs\/b\.md/);
  assert.doesNotMatch(preview, /c\.md|a\.txt/);
  assert.match(run.stdout, /reset 1 file\(s\)/);
  assert.deepEqual(await statuses(state), { 'a.txt': 'sent', 'docs/b.md': 'reset', 'docs/c.md': 'sent' });
  const stats = await ledgerJson(state, 'stats');
  assert.equal(stats.resets, 1);
  assert.deepEqual(stats.lastReset.criteria, { path: 'docs/**', regex: 'b\\.md$', interactive: true });
});

test('interactive reset: "no" at the confirmation, quitting, or the input ending leave the ledger unchanged', { timeout: 120_000 }, async (t) => {
  const { state } = await sentTree(t);
  const before = await ledgerJson(state, 'list');
  const no = await interactive(state, '5\np\nn\n');
  assert.equal(no.code, 0, no.stderr);
  assert.match(no.stdout, /3 version\(s\), 6 B/);
  assert.match(no.stdout, /nothing reset\n$/);
  const quit = await interactive(state, '2\n*.txt\nq\n');
  assert.equal(quit.code, 0, quit.stderr);
  const ended = await interactive(state, '2\ndocs/**\n');
  assert.equal(ended.code, 1);
  assert.equal(ended.stderr, 'diode-send: error: no answer (end of input): nothing reset\n');
  assert.deepEqual(await ledgerJson(state, 'list'), before);
  assert.equal((await ledgerJson(state, 'stats')).resets, 0);
});

test("interactive reset by date and from a receiver's report", { timeout: 120_000 }, async (t) => {
  const { dir, state } = await sentTree(t);
  // Since tomorrow: nothing matches, the dialog starts again.
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const report = path.join(dir, 'report.json');
  await writeFile(report, JSON.stringify({ missing: [{ path: 'a.txt' }, { path: 'gone.txt' }], outdated: [{ path: 'docs/c.md' }], unexpected: [] }));
  const run = await interactive(state, `1\n${tomorrow}\n\np\n1\n2000-01-01\n\n4\n${report}\np\nyes\n`);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /No version in the source tree matches/);
  assert.match(run.stdout, /1 path\(s\) of the report are not among them/);
  assert.match(run.stdout, /reset 2 file\(s\)/);
  assert.deepEqual(await statuses(state), { 'a.txt': 'reset', 'docs/b.md': 'sent', 'docs/c.md': 'reset' });
});

test('--interactive takes no criteria from options, and is for reset only', { timeout: 60_000 }, async (t) => {
  const { state } = await sentTree(t);
  await expectUsageError(SEND_CLI, ['ledger', 'reset', '-i', '--all', '--state', state], /--interactive asks for the criteria and confirms: drop --all/);
  await expectUsageError(SEND_CLI, ['ledger', 'list', '--interactive', '--state', state], /--interactive is for 'ledger reset'/);
});
