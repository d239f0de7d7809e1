import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SEND_CLI, events, start, startReceiver } from './lib/cli.js';
import { makeTree, tempDir } from './lib/tree.js';

/** Waits until `dest` holds `src`'s bytes; returns the time it took. */
async function arrives(src: string, dest: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (existsSync(dest) && (await readFile(src)).equals(await readFile(dest))) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`${dest} did not arrive within ${timeoutMs} ms`);
    await sleep(50);
  }
}

test('watch mode with events and an hourly walk: a file rewritten in a subdirectory, and a file in a new subdirectory, arrive within settle + 2 s', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  await makeTree(src, { 'deep/er/old.txt': 'first\n', 'top.txt': 'top\n' });
  const receiver = await startReceiver(dest, []);
  t.after(() => receiver.kill('SIGKILL'));
  const sender = start(SEND_CLI, [src, '--to', `udp://127.0.0.1:${receiver.port}`, '--settle', '500', '-R', '1']); // --rescan: the default hour
  t.after(() => sender.kill('SIGKILL'));
  await arrives(path.join(src, 'deep/er/old.txt'), path.join(dest, 'deep/er/old.txt'), 15_000);
  const watch = events(sender.stderr()).find((e) => e.event === 'watch');
  assert.ok(watch, sender.stderr());
  if (watch.mode === 'events') {
    // Rewritten in place, in a directory two levels down: only its directory's watch can tell.
    await writeFile(path.join(src, 'deep/er/old.txt'), 'second, longer\n');
    assert.ok((await arrives(path.join(src, 'deep/er/old.txt'), path.join(dest, 'deep/er/old.txt'), 10_000)) < 2_500);
    await mkdir(path.join(src, 'deep/new'));
    await writeFile(path.join(src, 'deep/new/f.txt'), 'in a new directory\n');
    assert.ok((await arrives(path.join(src, 'deep/new/f.txt'), path.join(dest, 'deep/new/f.txt'), 10_000)) < 2_500);
    await writeFile(path.join(src, 'deep/new/g.txt'), 'its watch was added\n');
    assert.ok((await arrives(path.join(src, 'deep/new/g.txt'), path.join(dest, 'deep/new/g.txt'), 10_000)) < 2_500);
  } else {
    // Every inotify watch of this user is taken by other processes: the sender says so and polls.
    assert.match(String(watch.reason), /ENOSPC|EMFILE/);
  }
  assert.equal(watch.mode === 'events' ? watch.dirs : 0, watch.mode === 'events' ? 3 : 0, 'the root, deep and deep/er');
  sender.kill('SIGTERM');
  assert.equal((await sender.exited).code, 0);
});
