import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToBytes } from '@diodesync/protocol';
import { treeFilter } from './tree-filter.js';
import { walkTree, type WalkEntry } from './walk.js';

function tempTree(t: { after(fn: () => void): void }): string {
  const root = mkdtempSync(path.join(tmpdir(), 'diodesync-walk-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

async function entries(root: string, under = ''): Promise<WalkEntry[]> {
  const out: WalkEntry[] = [];
  for await (const e of walkTree(root, treeFilter([], ['**/*.skip']), under)) out.push(e);
  return out;
}
const pathOf = (e: WalkEntry) => (e.kind === 'file' ? e.file.relPath : e.kind === 'dir' ? e.relPath : e.entry.relPath);

test('the walk comes out in wire byte order of paths: a-b < a/b < a0, a directory keyed as name/', async (t) => {
  const root = tempTree(t);
  mkdirSync(path.join(root, 'a'));
  writeFileSync(path.join(root, 'a', 'b'), 'x');
  writeFileSync(path.join(root, 'a', 'Z'), 'x');
  writeFileSync(path.join(root, 'a-b'), 'x');
  writeFileSync(path.join(root, 'a0'), 'x');
  writeFileSync(path.join(root, 'B'), 'x');
  writeFileSync(path.join(root, 'é'), 'x');
  writeFileSync(path.join(root, '~'), 'x');
  writeFileSync(path.join(root, 'sp ace'), 'x');
  // Not UTF-8: carried as its bytes (0xff sorts after every ASCII and UTF-8 lead byte but 0xff).
  writeFileSync(Buffer.concat([Buffer.from(`${root}/`), Buffer.from([0x61, 0xff])]), 'x');
  const got = await entries(root);
  const paths = got.map(pathOf);
  const keys = got.map((e) => Buffer.concat([pathToBytes(pathOf(e)), Buffer.from(e.kind === 'dir' ? '/' : '')]));
  const sorted = [...keys].sort(Buffer.compare);
  assert.deepEqual(keys, sorted, `in byte order: ${paths.join(', ')}`);
  assert.deepEqual(paths.slice(0, 6), ['B', 'a-b', 'a', 'a/Z', 'a/b', 'a0']);
  assert.ok(paths.includes('sp ace') && paths.includes('é') && paths.includes('~'));
  const odd = got.find((e) => e.kind === 'file' && pathToBytes(e.file.relPath).equals(Buffer.from([0x61, 0xff])));
  assert.ok(odd, 'the non-UTF-8 name is walked, as its bytes');
  assert.ok(paths.indexOf('a0') < paths.indexOf(pathOf(odd!)), 'a0 < a\\xff');
});

test('files carry their lstat; skipped entries say why; a subtree walk yields only what is below', async (t) => {
  const root = tempTree(t);
  mkdirSync(path.join(root, 'd', 'e'), { recursive: true });
  writeFileSync(path.join(root, 'd', 'e', 'f'), 'hello');
  writeFileSync(path.join(root, 'd', 'x.skip'), 'no');
  symlinkSync('e/f', path.join(root, 'd', 'link'));
  const got = await entries(root);
  const f = got.find((e) => e.kind === 'file');
  assert.equal(f?.kind === 'file' && f.file.size, 5);
  assert.equal(f?.kind === 'file' && f.file.absPath, path.join(root, 'd', 'e', 'f'));
  const skipped = got.filter((e) => e.kind === 'skipped').map((e) => e.kind === 'skipped' && `${e.entry.relPath}: ${e.entry.reason}`);
  assert.deepEqual(skipped, ['d/link: symlink (not followed)', 'd/x.skip: matched by --exclude']);
  assert.deepEqual((await entries(root, 'd/e')).map(pathOf), ['d/e/f']);
});
