import type { Dirent } from 'node:fs';
import { lstatSync } from 'node:fs';
import { opendir } from 'node:fs/promises';
import * as path from 'node:path';
import { fsPath, pathFromBytes, walkOrderKey } from '@diodesync/protocol';
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

/** One entry of a walk: a file to mirror (with its lstat), a directory, or an entry left out. */
export type WalkEntry =
  | { kind: 'file'; file: SourceFile }
  | { kind: 'dir'; relPath: string }
  | { kind: 'skipped'; entry: SkippedEntry };

/** '/' + 1: the first byte after every `dir/...` path, so [`dir/`, `dir0`) holds exactly the subtree. */
const AFTER_SLASH = 0x30;

/**
 * Walks the tree depth-first, in the wire byte order of paths (what the ledger's CAST(path AS BLOB)
 * index and the manifest use): within a directory the entries sorted by their name's bytes, a
 * directory keyed as `name/`, which yields the global byte order (`a-b` < `a/b` < `a0`).
 * Memory: the entries of the directories on the current path (depth x width), never the tree.
 * `under`: walk only the subtree below this relative directory (its own entry is not yielded).
 */
export async function* walkTree(root: string, filter: TreeFilter = treeFilter(), under = ''): AsyncGenerator<WalkEntry> {
  yield* walkDir(root, under, filter, true);
}

interface Named {
  relPath: string;
  key: Buffer;
  dirent: Dirent;
}

async function* walkDir(root: string, rel: string, filter: TreeFilter, top: boolean): AsyncGenerator<WalkEntry> {
  let entries: Named[];
  try {
    entries = await readSorted(root, rel);
  } catch (err) {
    if (top && rel === '') throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return; // gone since its parent was listed: nothing below it is in the tree
    yield { kind: 'skipped', entry: { relPath: rel || '.', reason: `unreadable directory (${(err as NodeJS.ErrnoException).code ?? 'error'})`, unreadable: true } };
    return;
  }
  for (const { relPath, dirent } of entries) {
    if (dirent.isDirectory()) {
      yield { kind: 'dir', relPath };
      yield* walkDir(root, relPath, filter, false);
    } else if (dirent.isFile()) {
      const entry = fileEntry(root, relPath, filter);
      if (entry) yield entry;
    } else {
      yield { kind: 'skipped', entry: { relPath, reason: kindOf(dirent) } };
    }
  }
}

/** A directory's entries sorted by name bytes (a directory as `name/`). Names as bytes: a name that is not UTF-8 is carried, not mangled. */
async function readSorted(root: string, rel: string): Promise<Named[]> {
  const dir = await opendir(fsPath(rel === '' ? root : path.join(root, rel)) as string, { encoding: 'buffer' as BufferEncoding });
  const entries: Named[] = [];
  for await (const dirent of dir) {
    const raw = dirent.name as unknown as Buffer;
    const name = pathFromBytes(raw);
    const key = walkOrderKey(raw, dirent.isDirectory());
    entries.push({ relPath: rel === '' ? name : `${rel}/${name}`, key, dirent });
  }
  return entries.sort((a, b) => Buffer.compare(a.key, b.key));
}

/**
 * A file's entry from a fresh lstat, or undefined if it is gone meanwhile (not an error: the next
 * look at its directory says so). Synchronous: taken right before the ledger sees it.
 */
export function fileEntry(root: string, relPath: string, filter: TreeFilter): WalkEntry | undefined {
  const why = filter(relPath);
  if (why) return { kind: 'skipped', entry: { relPath, reason: why } };
  const absPath = path.join(root, relPath);
  try {
    const st = lstatSync(fsPath(absPath), { bigint: true, throwIfNoEntry: false });
    if (!st) return undefined;
    if (!st.isFile()) return undefined; // replaced by another kind since the listing: its next look says what it is
    return { kind: 'file', file: sourceFileOf(relPath, absPath, st) };
  } catch (err) {
    return { kind: 'skipped', entry: { relPath, reason: `unreadable (${(err as NodeJS.ErrnoException).code ?? 'error'})`, unreadable: true } };
  }
}

export function sourceFileOf(relPath: string, absPath: string, st: { size: bigint; mtimeNs: bigint; mode: bigint; ino: bigint }): SourceFile {
  return { relPath, absPath, size: Number(st.size), mtimeMs: msOf(st.mtimeNs), mtimeNs: st.mtimeNs, mode: Number(st.mode & 0o7777n), ino: Number(st.ino) };
}

/** The same double as Node's stat().mtimeMs (seconds * 1e3 + nanoseconds / 1e6), so ledgers stay comparable. */
export function msOf(ns: bigint): number {
  let sec = ns / 1_000_000_000n;
  let rest = ns % 1_000_000_000n;
  if (rest < 0n) {
    sec -= 1n;
    rest += 1_000_000_000n;
  }
  return Number(sec) * 1e3 + Number(rest) / 1e6;
}

export function kindOf(entry: { isSymbolicLink(): boolean; isFIFO(): boolean; isSocket(): boolean; isBlockDevice(): boolean; isCharacterDevice(): boolean }): string {
  if (entry.isSymbolicLink()) return 'symlink (not followed)';
  if (entry.isFIFO()) return 'FIFO (not a regular file)';
  if (entry.isSocket()) return 'socket (not a regular file)';
  if (entry.isBlockDevice() || entry.isCharacterDevice()) return 'device (not a regular file)';
  return 'not a regular file';
}

/** A byte range of paths: `from` inclusive, `to` exclusive (undefined: unbounded). */
export interface KeyRange {
  from: Buffer;
  to: Buffer | undefined;
}

/** The key range of exactly this path. */
export function exactRange(key: Buffer): KeyRange {
  return { from: key, to: Buffer.concat([key, Buffer.of(0)]) };
}

/** The key range of everything below this directory path. */
export function subtreeRange(key: Buffer): KeyRange {
  return { from: Buffer.concat([key, Buffer.of(0x2f)]), to: Buffer.concat([key, Buffer.of(AFTER_SLASH)]) };
}
