import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { comparePaths, pathFromBytes } from '@diodesync/protocol';
import { DestTree } from './dest-tree.js';

test('the mirror is walked in wire byte order, in runs that no subdirectory separates; a name that is not UTF-8 is carried', async (t) => {
  const root = await mkdtemp(path.join(tmpdir(), 'diodesync-dest-tree-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(path.join(root, 'a', 'c'), { recursive: true });
  const latin1 = Buffer.from('caf\xe9', 'latin1'); // not UTF-8
  for (const f of ['a-b', 'a0', 'a/b', 'a/c/d', 'z']) await writeFile(path.join(root, f), f);
  await writeFile(Buffer.concat([Buffer.from(root + '/a/'), latin1]), 'x');
  await symlink('/etc/passwd', path.join(root, 'link')); // not a regular file: not listed
  const tree = new DestTree(root);
  const runs: string[][] = [];
  for await (const run of tree.fileRuns()) runs.push(run);
  const weird = `a/${pathFromBytes(latin1)}`;
  assert.deepEqual(runs, [['a-b'], ['a/b'], ['a/c/d'], [weird], ['a0', 'z']]);
  const all = runs.flat();
  assert.deepEqual([...all].sort(comparePaths), all, 'byte order');
  assert.deepEqual(await tree.listFiles(), all);
  assert.equal(await tree.countFiles(), 6);
});
