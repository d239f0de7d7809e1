import type { Dirent } from 'node:fs';
import { opendir, lstat } from 'node:fs/promises';
import * as path from 'node:path';
import { fsPath, pathFromBytes } from '@diodesync/protocol';
import { treeFilter, type TreeFilter } from './tree-filter.js';

export interface SourceFile {
  /** Relative path with '/' separators, as it goes on the wire (non-UTF-8 bytes escaped: see path-bytes.ts). */
  relPath: string;
  /** Absolute path, escaped the same way: give it to the file system through fsPath(). */
  absPath: string;
  size: number;
  mtimeMs: number;
  /** The mtime as the file system keeps it, in nanoseconds (before 1970: negative). */
  mtimeNs: bigint;
  mode: number;
  ino: number;
}

/** An entry that is not sent, and why. */
export interface SkippedEntry {
  relPath: string;
  reason: string;
  /** Could not be read (a directory: nothing below it is known): the run cannot call itself complete. */
  unreadable?: boolean;
}

export interface TreeSnapshot {
  files: SourceFile[];
  dirs: string[];
  /** Entries left out and why (symlinks, special files, unreadable entries, excluded names). */
  skipped: SkippedEntry[];
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
    // Names as bytes: a name that is not valid UTF-8 is carried, not mangled into U+FFFD.
    dir = await opendir(fsPath(rel === '' ? root : path.join(root, rel)) as string, { encoding: 'buffer' as BufferEncoding });
  } catch (err) {
    if (rel === '') throw err;
    out.skipped.push({ relPath: rel, reason: `unreadable directory (${(err as NodeJS.ErrnoException).code ?? 'error'})`, unreadable: true });
    return;
  }
  const subdirs: string[] = [];
  try {
    for await (const entry of dir) {
      const name = pathFromBytes(entry.name as unknown as Buffer);
      const relPath = rel === '' ? name : `${rel}/${name}`;
      if (entry.isDirectory()) subdirs.push(relPath);
      else if (entry.isFile()) await addFile(root, relPath, out, filter);
      else out.skipped.push({ relPath, reason: kindOf(entry) });
    }
  } catch (err) {
    // A directory that fails while being read (EIO): what it held is not known, so say so.
    out.skipped.push({ relPath: rel || '.', reason: `unreadable directory (${(err as NodeJS.ErrnoException).code ?? 'error'})`, unreadable: true });
  }
  for (const sub of subdirs) {
    out.dirs.push(sub);
    await walk(root, sub, out, filter);
  }
}

async function addFile(root: string, relPath: string, out: TreeSnapshot, filter: TreeFilter): Promise<void> {
  const why = filter(relPath);
  if (why) {
    out.skipped.push({ relPath, reason: why });
    return;
  }
  const absPath = path.join(root, relPath);
  try {
    const st = await lstat(fsPath(absPath), { bigint: true });
    out.files.push({
      relPath, absPath, size: Number(st.size), mtimeMs: msOf(st.mtimeNs), mtimeNs: st.mtimeNs,
      mode: Number(st.mode & 0o7777n), ino: Number(st.ino),
    });
  } catch (err) {
    out.skipped.push({ relPath, reason: `unreadable (${(err as NodeJS.ErrnoException).code ?? 'error'})`, unreadable: true });
  }
}

/** The same double as Node's stat().mtimeMs (seconds * 1e3 + nanoseconds / 1e6), so ledgers stay comparable. */
function msOf(ns: bigint): number {
  let sec = ns / 1_000_000_000n;
  let rest = ns % 1_000_000_000n;
  if (rest < 0n) {
    sec -= 1n;
    rest += 1_000_000_000n;
  }
  return Number(sec) * 1e3 + Number(rest) / 1e6;
}

function kindOf(entry: Dirent): string {
  if (entry.isSymbolicLink()) return 'symlink (not followed)';
  if (entry.isFIFO()) return 'FIFO (not a regular file)';
  if (entry.isSocket()) return 'socket (not a regular file)';
  if (entry.isBlockDevice() || entry.isCharacterDevice()) return 'device (not a regular file)';
  return 'not a regular file';
}
