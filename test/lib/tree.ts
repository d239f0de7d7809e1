import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { TestContext } from 'node:test';

/** A temp directory removed when the test ends. */
export async function tempDir(t: TestContext, prefix = 'diodesync-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  // Hooks run in the order they were added, so a CLI started later may still be writing its state
  // here (status.json every second): retried rather than failing the test on ENOTEMPTY.
  t.after(() => rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }));
  return dir;
}

/** Writes files (relative path -> size or content), with distinct past mtimes. */
export async function makeTree(root: string, files: Record<string, number | string | Buffer>): Promise<void> {
  let i = 0;
  for (const [rel, spec] of Object.entries(files)) {
    const abs = path.join(root, rel);
    await mkdir(path.dirname(abs), { recursive: true });
    await writeFile(abs, typeof spec === 'number' ? randomBytes(spec) : spec);
    const mtime = new Date(Date.UTC(2024, 0, 1, 12, 0, 0) + 1000 * i++ + 123);
    await utimes(abs, mtime, mtime);
  }
}

export interface TreeEntry {
  path: string;
  type: 'file' | 'dir';
  size: number;
  mtimeMs: number;
  mode: number;
}

/** The tree below `root`; an entry that vanishes while it is walked (a receiver at work) is left out. */
export async function listTree(root: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const walk = async (rel: string) => {
    const names = await readdir(path.join(root, rel)).catch(vanished);
    for (const name of (names ?? []).sort()) {
      const relPath = rel ? `${rel}/${name}` : name;
      const st = await lstat(path.join(root, relPath)).catch(vanished);
      if (!st) continue;
      out.push({ path: relPath, type: st.isDirectory() ? 'dir' : 'file', size: st.isDirectory() ? 0 : st.size, mtimeMs: st.isDirectory() ? 0 : Math.floor(st.mtimeMs), mode: st.mode & 0o777 });
      if (st.isDirectory()) await walk(relPath);
    }
  };
  await walk('');
  return out;
}

function vanished(err: NodeJS.ErrnoException): undefined {
  if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
  throw err;
}

/** Lists differences between two trees: names, types, sizes, mtimes (ms), modes and bytes. */
export async function treeDifferences(a: string, b: string): Promise<string[]> {
  const [left, right] = [await listTree(a), await listTree(b)];
  const diffs: string[] = [];
  const rightByPath = new Map(right.map((e) => [e.path, e]));
  for (const l of left) {
    const r = rightByPath.get(l.path);
    rightByPath.delete(l.path);
    if (!r) diffs.push(`missing ${l.path}`);
    else if (JSON.stringify(l) !== JSON.stringify(r)) diffs.push(`metadata ${l.path}: ${JSON.stringify(l)} vs ${JSON.stringify(r)}`);
    else if (l.type === 'file' && !(await readFile(path.join(a, l.path))).equals(await readFile(path.join(b, l.path)))) diffs.push(`content ${l.path}`);
  }
  for (const extra of rightByPath.keys()) diffs.push(`unexpected ${extra}`);
  return diffs;
}
