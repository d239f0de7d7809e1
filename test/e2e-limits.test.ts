import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { RECEIVE_CLI, events, runSender, startReceiver } from './lib/cli.js';
import { listTree, makeTree, tempDir } from './lib/tree.js';

const run = promisify(execFile);

async function status(state: string): Promise<{ counters: { limits: Record<string, number> } }> {
  return JSON.parse((await run(process.execPath, [RECEIVE_CLI, 'status', '--state', state, '--json'])).stdout);
}

test('--max-file-size, --max-files and --min-free refuse what breaches them, log it once per path, and the receiver goes on', { timeout: 90_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  await makeTree(src, { 'big.bin': 200_000, 'a.txt': 'a\n', 'b.txt': 'b\n', 'c.txt': 'c\n' });
  const cases = [
    { args: ['--max-file-size', '100k'], limit: 'max-file-size', placed: 3 },
    { args: ['--max-files', '2'], limit: 'max-files', placed: 2 },
    { args: ['--min-free', '100%'], limit: 'min-free', placed: 0 },
  ];
  for (const [i, c] of cases.entries()) {
    const dest = path.join(root, `dest${i}`);
    const state = path.join(root, `state${i}`);
    const receiver = await startReceiver(dest, ['--state', state, '--exit-when-synced', '--timeout', '6', ...c.args]);
    const sent = await runSender(src, `udp://127.0.0.1:${receiver.port}`, ['--once', '-R', '3']);
    assert.equal(sent.code, 0, sent.stderr);
    const received = await receiver.exited;
    assert.equal(received.code, 2, `${c.limit}: incomplete, as it should be`);
    assert.equal((await listTree(dest)).filter((e) => e.type === 'file').length, c.placed, `${c.limit}: ${JSON.stringify(await readdir(dest))}`);
    const refusals = events(received.stderr).filter((e) => e.event === 'object-refused' && e.limit === c.limit);
    const paths = refusals.map((e) => e.path);
    assert.ok(refusals.length > 0, `${c.limit} was logged`);
    assert.equal(new Set(paths).size, paths.length, `${c.limit}: one line per path, not per frame: ${paths.join(', ')}`);
    assert.ok((await status(state)).counters.limits[c.limit]! >= refusals.length * 3, `${c.limit}: every refused header is counted`);
  }
});
