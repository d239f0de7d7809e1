import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Change } from '@diodesync/protocol';
import { ChangeApplier } from './change-applier.js';
import { DestTree } from './dest-tree.js';

const sha = (content: string) => createHash('sha256').update(content).digest();
const del = (p: string, content: string): Change => ({ op: 'delete', path: p, to: '', sha256: sha(content) });
const ren = (p: string, to: string, content: string): Change => ({ op: 'rename', path: p, to, sha256: sha(content) });

async function setUp(t: import('node:test').TestContext, applyDeletes: boolean, quarantineDays = 7) {
  const root = await mkdtemp(path.join(tmpdir(), 'diodesync-changes-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const mirror = path.join(root, 'mirror');
  const quarantine = path.join(root, 'quarantine');
  await mkdir(mirror);
  const put = async (p: string, content: string) => {
    await mkdir(path.dirname(path.join(mirror, p)), { recursive: true });
    await writeFile(path.join(mirror, p), content);
  };
  const applier = new ChangeApplier(new DestTree(mirror), quarantine, applyDeletes, quarantineDays);
  return { root, mirror, quarantine, put, applier };
}

test('with --apply-deletes a delete moves the file to quarantine, a rename moves it; empty directories go', async (t) => {
  const { mirror, quarantine, put, applier } = await setUp(t, true);
  await put('d/e/gone.txt', 'gone');
  await put('d/moved.txt', 'moved');
  assert.equal(await applier.apply(del('d/e/gone.txt', 'gone')), 'deleted');
  const [stamp] = await readdir(quarantine);
  assert.equal(await readFile(path.join(quarantine, stamp!, 'd/e/gone.txt'), 'utf8'), 'gone');
  assert.deepEqual(await readdir(path.join(mirror, 'd')), ['moved.txt'], 'd/e was left empty and removed');
  assert.equal(await applier.apply(ren('d/moved.txt', 'n/new.txt', 'moved')), 'renamed');
  assert.deepEqual(await readdir(mirror), ['n'], 'd was left empty and removed; the mirror root stays');
  assert.equal(await readFile(path.join(mirror, 'n/new.txt'), 'utf8'), 'moved');
});

test('without --apply-deletes nothing leaves the mirror: a delete is ignored, a rename becomes a copy with the same mtime', async (t) => {
  const { mirror, quarantine, put, applier } = await setUp(t, false);
  await put('a.txt', 'a');
  await utimes(path.join(mirror, 'a.txt'), 1_000_000, 1_000_000);
  assert.equal(await applier.apply(del('a.txt', 'a')), 'ignored');
  assert.equal(await applier.apply(ren('a.txt', 'b/a.txt', 'a')), 'copied');
  assert.equal(await readFile(path.join(mirror, 'a.txt'), 'utf8'), 'a');
  assert.equal(await readFile(path.join(mirror, 'b/a.txt'), 'utf8'), 'a');
  assert.equal((await stat(path.join(mirror, 'b/a.txt'))).mtimeMs, 1_000_000_000);
  assert.deepEqual(await readdir(mirror).then((names) => names.sort()), ['a.txt', 'b'], 'no temp file left beside the copy');
  await assert.rejects(readdir(quarantine), { code: 'ENOENT' });
});

test('only a file that still holds the announced content, inside the mirror, is touched; each announcement once', async (t) => {
  const { root, mirror, put, applier } = await setUp(t, true);
  await put('a.txt', 'a');
  assert.equal(await applier.apply(del('a.txt', 'other content')), 'differs');
  assert.equal(await applier.apply(del('missing.txt', 'a')), 'absent');
  assert.equal(await applier.apply(del('../outside.txt', 'a')), 'refused');
  assert.equal(await applier.apply(ren('a.txt', '/etc/passwd', 'a')), 'refused');
  // A symlink planted in the mirror must not let a delete reach a file outside it.
  await writeFile(path.join(root, 'outside.txt'), 'o');
  await symlink(root, path.join(mirror, 'link'));
  assert.equal(await applier.apply(del('link/outside.txt', 'o')), 'refused');
  assert.equal(await readFile(path.join(root, 'outside.txt'), 'utf8'), 'o');
  assert.equal(await applier.apply(del('a.txt', 'a')), 'deleted');
  await put('a.txt', 'a');
  assert.equal(await applier.apply(del('a.txt', 'a')), 'repeat', 'the same announcement of a later pass changes nothing');
  assert.equal(await readFile(path.join(mirror, 'a.txt'), 'utf8'), 'a');
});

test('quarantine folders older than --quarantine-days are removed, younger ones kept', async (t) => {
  const { quarantine, applier } = await setUp(t, true, 7);
  await mkdir(path.join(quarantine, 'old'), { recursive: true });
  await mkdir(path.join(quarantine, 'young'));
  const day = 86_400;
  const now = Date.now();
  await utimes(path.join(quarantine, 'old'), now / 1000 - 8 * day, now / 1000 - 8 * day);
  assert.equal(await applier.expireQuarantine(now), 1);
  assert.deepEqual(await readdir(quarantine), ['young']);
});
