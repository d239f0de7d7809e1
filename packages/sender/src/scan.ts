import { opendir, lstat } from 'node:fs/promises';
import * as path from 'node:path';
import { treeFilter, type TreeFilter } from './tree-filter.js';

export interface SourceFile {
  /** Relative path with '/' separators, as it goes on the wire. */
  relPath: string;
  absPath: string;
  size: number;
  mtimeMs: number;
  mode: number;
  ino: number;
}

export interface TreeSnapshot {
  files: SourceFile[];
  dirs: string[];
  /** Entries skipped and why (symlinks, sockets, unreadable directories). */
  skipped: { relPath: string; reason: string }[];
}

/** Walks the tree depth-first; paths come out sorted so passes are reproducible. */
export async function scanTree(root: string, filter: TreeFilter = treeFilter()): Promise<TreeSnapshot> {
  const snapshot: TreeSnapshot = { files: [], dirs: [], skipped: [] };
  await walk(root, '', snapshot, filter);
  snapshot.files.sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0));
  snapshot.dirs.sort();
  return snapshot;
}

async function walk(root: string, rel: string, out: TreeSnapshot, filter: TreeFilter): Promise<void> {
  let dir;
  try {
    dir = await opendir(path.join(root, rel));
  } catch (err) {
    if (rel === '') throw err;
    out.skipped.push({ relPath: rel, reason: (err as NodeJS.ErrnoException).code ?? 'unreadable' });
    return;
  }
  const subdirs: string[] = [];
  for await (const entry of dir) {
    const relPath = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) subdirs.push(relPath);
    else if (entry.isFile()) {
      if (!filter(relPath)) continue;
      const absPath = path.join(root, relPath);
      try {
        const st = await lstat(absPath);
        out.files.push({ relPath, absPath, size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777, ino: st.ino });
      } catch (err) {
        out.skipped.push({ relPath, reason: (err as NodeJS.ErrnoException).code ?? 'unreadable' });
      }
    } else out.skipped.push({ relPath, reason: entry.isSymbolicLink() ? 'symlink' : 'not a regular file' });
  }
  for (const sub of subdirs) {
    out.dirs.push(sub);
    await walk(root, sub, out, filter);
  }
}
