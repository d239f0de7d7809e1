import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DirWatcher } from './dir-watcher.js';

/** Waits until `check` holds (events take a moment), at most 5 s. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  const until = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > until) assert.fail(`not seen within 5 s: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('an event names the changed entry of a watched directory; a new subdirectory, once watched, names its files', { timeout: 20_000 }, async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'diodesync-watch-'));
  mkdirSync(path.join(root, 'd'));
  writeFileSync(path.join(root, 'd', 'f'), 'one');
  let wakes = 0;
  const watcher = new DirWatcher(root, () => wakes++);
  t.after(() => {
    watcher.close();
    rmSync(root, { recursive: true, force: true });
  });
  watcher.add('');
  watcher.add('d');
  if (watcher.unavailable !== undefined) {
    // Other processes hold every inotify watch of this user (chokidar takes one per file): the
    // sender falls back to paced walks, and says why.
    assert.match(watcher.unavailable, /^(ENOSPC|EMFILE): out of inotify watches/);
    assert.equal(watcher.size, 0);
    return;
  }
  assert.equal(watcher.size, 2);
  const dirty = new Set<string>();
  const take = () => {
    for (const p of watcher.takeDirty()) dirty.add(p);
  };

  appendFileSync(path.join(root, 'd', 'f'), 'two'); // rewritten in place: the directory's mtime does not move
  await eventually(() => (take(), dirty.has('d/f')), 'd/f');
  assert.ok(wakes > 0, 'an event wakes the sender');
  assert.equal(watcher.dirtySince, undefined, 'taken: clean again');

  mkdirSync(path.join(root, 'new'));
  await eventually(() => (take(), dirty.has('new')), 'new (in the root)');
  watcher.add('new'); // as the tree sync does when it finds the directory
  writeFileSync(path.join(root, 'new', 'g'), 'x');
  await eventually(() => (take(), dirty.has('new/g')), 'new/g');

  watcher.keepOnly(['new']);
  assert.equal(watcher.size, 2, 'd is no longer in the tree: not watched; the root always is');
  assert.equal(watcher.walkSoon, false);
});
