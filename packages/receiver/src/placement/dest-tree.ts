import { createHash } from 'node:crypto';
import { lstatSync } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { hashFileRange } from './hash-file.js';
import { fsPath, pathFromBytes, walkOrderKey } from '@diodesync/protocol';
import { destPath } from './paths.js';
import { setFileTimes } from './file-times.js';

export class UnsafeDestination extends Error {
  override name = 'UnsafeDestination';
}

/**
 * The mirror on disk. Every write goes through here: directories are created one level at
 * a time and a symlink met on the way is refused, so nothing is ever written outside the root.
 */
export class DestTree {
  /** Directories checked (or made) recently: thousands of files in one directory need one check. */
  private readonly checkedDirs = new Set<string>();

  constructor(readonly root: string) {}

  /** Forgets the checked directories, so the next placement looks at the disk again. */
  recheck(): void {
    this.checkedDirs.clear();
  }

  /** Creates the directories of `rel` (a checked relative path) under the root. */
  async ensureDir(rel: string): Promise<string> {
    if (this.checkedDirs.has(rel)) return path.join(this.root, ...rel.split('/').filter(Boolean));
    const dir = await this.walkDir(rel);
    if (this.checkedDirs.size > 10_000) this.checkedDirs.clear();
    this.checkedDirs.add(rel);
    return dir;
  }

  /**
   * True if every parent directory of `rel` is a real directory inside the root (or absent):
   * a file reached through a symlink in the mirror is never read, moved or deleted.
   */
  parentsSafe(rel: string): boolean {
    const slash = rel.lastIndexOf('/');
    if (slash < 0 || this.checkedDirs.has(rel.slice(0, slash))) return true;
    let current = this.root;
    for (const segment of rel.slice(0, slash).split('/')) {
      current = path.join(current, segment);
      // Synchronous: mostly absent, and an async ENOENT costs an Error with a stack.
      const st = lstatSync(fsPath(current), { throwIfNoEntry: false });
      if (!st) return true;
      if (!st.isDirectory()) return false; // a symlink, or a file where a directory should be
    }
    return true;
  }

  private async walkDir(rel: string): Promise<string> {
    let current = this.root;
    for (const segment of rel === '' ? [] : rel.split('/')) {
      current = path.join(current, segment);
      const st = await lstat(fsPath(current)).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
      if (!st) await mkdir(fsPath(current)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      else if (st.isSymbolicLink()) throw new UnsafeDestination(`'${path.relative(this.root, current)}' is a symlink`);
      else if (!st.isDirectory()) throw new UnsafeDestination(`'${path.relative(this.root, current)}' is not a directory`);
    }
    return current;
  }

  /**
   * Moves a verified temp file into place with its mtime and mode. The rename is atomic:
   * readers see the old file or the new one, never a mix. Returns true if the path was new.
   */
  async place(tempPath: string, rel: string, meta: { mtimeMs: number; mtimeNs?: bigint; mode: number }): Promise<boolean> {
    const slash = rel.lastIndexOf('/');
    const dir = await this.ensureDir(slash < 0 ? '' : rel.slice(0, slash));
    const target = path.join(dir, rel.slice(slash + 1));
    const existing = lstatSync(fsPath(target), { throwIfNoEntry: false }); // synchronous: see inspect()
    if (existing?.isDirectory()) throw new UnsafeDestination(`'${rel}' is a directory in the destination`);
    await chmod(tempPath, meta.mode & 0o777); // never setuid, setgid or sticky from the wire
    setFileTimes(tempPath, meta);
    try {
      await rename(tempPath, fsPath(target));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      // State directory on another file system: copy beside the target, then rename.
      const beside = path.join(dir, `.${path.basename(target)}.diodesync-tmp`);
      try {
        await copyFile(tempPath, fsPath(beside));
        // The copy reaches the disk before the rename, as the temp file did: a power cut never
        // leaves an empty file where a good one stood.
        const copy = await open(fsPath(beside), 'r+');
        try { await copy.datasync(); } finally { await copy.close(); }
        setFileTimes(fsPath(beside), meta);
        await rename(fsPath(beside), fsPath(target));
      } catch (copyErr) {
        await rm(fsPath(beside), { force: true });
        throw copyErr;
      }
      await rm(tempPath, { force: true });
    }
    return existing === undefined;
  }

  /** Size and mtime of a file in the mirror, or undefined if absent (or behind a symlink). */
  inspect(rel: string): { size: number; mtimeMs: number; isFile: boolean } | undefined {
    if (!this.parentsSafe(rel)) return undefined;
    // Synchronous on purpose: a cached lstat takes microseconds, while the async one costs a thread
    // pool round trip and, for the usual answer here (absent), an Error object with a stack.
    const st = lstatSync(fsPath(destPath(this.root, rel)), { throwIfNoEntry: false });
    return st && { size: st.size, mtimeMs: st.mtimeMs, isFile: st.isFile() };
  }

  async hash(rel: string): Promise<Buffer> {
    if (!this.parentsSafe(rel)) throw new UnsafeDestination(`'${rel}' lies behind a symlink`);
    const fh = await open(fsPath(destPath(this.root, rel)), 'r');
    try {
      const hash = createHash('sha256');
      await hashFileRange(fh, hash, 0, (await fh.stat()).size);
      return hash.digest();
    } finally {
      await fh.close();
    }
  }

  /** How many regular files the mirror holds (a walk that keeps no list). */
  async countFiles(): Promise<number> {
    let count = 0;
    for await (const run of this.fileRuns()) count += run.length;
    return count;
  }

  /** Every regular file under the root, as relative '/' paths, in wire byte order. */
  async listFiles(): Promise<string[]> {
    const out: string[] = [];
    for await (const run of this.fileRuns()) for (const p of run) out.push(p);
    return out;
  }

  /**
   * Every regular file below `rel` (relative '/' paths), in wire byte order (the manifest's), as
   * runs of files of one directory that no subdirectory separates: a caller checks a run at once,
   * so the objects of a walk of a million files die young instead of filling the old generation.
   * Names are read as bytes (none is mangled) and sorted; memory is depth x width.
   */
  async *fileRuns(rel = ''): AsyncGenerator<string[]> {
    const dir = rel === '' ? this.root : destPath(this.root, rel);
    const entries = await readdir(fsPath(dir), { withFileTypes: true, encoding: 'buffer' }).catch(() => []);
    const sorted = entries
      .map((e) => ({ e, key: walkOrderKey(e.name as unknown as Buffer, e.isDirectory()) }))
      .sort((a, b) => Buffer.compare(a.key, b.key));
    let run: string[] = [];
    for (const { e } of sorted) {
      const name = pathFromBytes(e.name as unknown as Buffer);
      const child = rel === '' ? name : `${rel}/${name}`;
      if (e.isFile()) run.push(child);
      else if (e.isDirectory()) {
        if (run.length > 0) yield run;
        run = [];
        yield* this.fileRuns(child);
      }
    }
    if (run.length > 0) yield run;
  }
}
