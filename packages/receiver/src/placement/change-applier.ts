import { copyFile, lstat, mkdir, readdir, rename, rm, rmdir } from 'node:fs/promises';
import * as path from 'node:path';
import { fsPath, type Change } from '@diodesync/protocol';
import { auditFile } from './audit.js';
import type { DestTree } from './dest-tree.js';
import { setFileTimes } from './file-times.js';
import { destPath, unsafePathReason } from './paths.js';

export type ChangeOutcome = 'deleted' | 'renamed' | 'copied' | 'ignored' | 'repeat' | 'refused' | 'absent' | 'differs';

const DAY_MS = 86_400_000;

/**
 * Applies the sender's delete and rename announcements. Nothing is removed outright: a
 * deleted file moves to <state>/quarantine/<time>/<path> and stays there --quarantine-days.
 * A file is touched only if it still holds the content the sender announced, and only
 * inside the mirror. Without --apply-deletes a delete is ignored and a rename becomes a
 * copy, so nothing leaves the mirror.
 */
export class ChangeApplier {
  /** Announcements come R times: each is applied once. */
  private readonly seen = new Set<string>();

  constructor(
    private readonly dest: DestTree,
    private readonly quarantineRoot: string,
    private readonly applyDeletes: boolean,
    private readonly quarantineDays: number,
  ) {}

  async apply(change: Change): Promise<ChangeOutcome> {
    const key = `${change.op}\0${change.path}\0${change.to}\0${change.sha256.toString('hex')}`;
    if (this.seen.has(key)) return 'repeat';
    if (this.seen.size > 100_000) this.seen.clear();
    this.seen.add(key);
    if (unsafePathReason(change.path) || (change.op === 'rename' && unsafePathReason(change.to))) return 'refused';
    // A symlink planted in the mirror must not let a delete or rename reach a file outside it.
    if (!this.dest.parentsSafe(change.path)) return 'refused';
    if (change.op === 'delete' && !this.applyDeletes) return 'ignored';
    const st = this.dest.inspect(change.path);
    if (!st?.isFile) return 'absent';
    if (!(await this.dest.hash(change.path)).equals(change.sha256)) return 'differs';
    const from = fsPath(destPath(this.dest.root, change.path));
    if (change.op === 'delete') {
      const quarantined = await this.quarantine(change.path);
      auditFile('deleted', { path: change.path, size: st.size, sha256: change.sha256, quarantine: quarantined });
      return 'deleted';
    }
    const slash = change.to.lastIndexOf('/');
    const dir = await this.dest.ensureDir(slash < 0 ? '' : change.to.slice(0, slash));
    const target = fsPath(path.join(dir, change.to.slice(slash + 1)));
    if (this.applyDeletes) {
      await rename(from, target);
      await this.removeEmptyParents(change.path);
      auditFile('renamed', { path: change.path, to: change.to, size: st.size, sha256: change.sha256 });
      return 'renamed';
    }
    const temp = fsPath(path.join(dir, `.${change.to.slice(slash + 1)}.diodesync-tmp`));
    await copyFile(from, temp);
    setFileTimes(temp, st);
    await rename(temp, target);
    auditFile('copied', { path: change.path, to: change.to, size: st.size, sha256: change.sha256 });
    return 'copied';
  }

  /** Moves a file to <quarantine>/<time>/<path>; returns where it now lies. */
  private async quarantine(rel: string): Promise<string> {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const target = path.join(this.quarantineRoot, stamp, ...rel.split('/'));
    await mkdir(fsPath(path.dirname(target)), { recursive: true });
    const from = fsPath(destPath(this.dest.root, rel));
    try {
      await rename(from, fsPath(target));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      await copyFile(from, fsPath(target));
      await rm(from);
    }
    await this.removeEmptyParents(rel);
    return target;
  }

  /** Removes the directories a file leaves empty, up to (never including) the mirror root. */
  private async removeEmptyParents(rel: string): Promise<void> {
    const segments = rel.split('/').slice(0, -1);
    while (segments.length > 0) {
      try {
        await rmdir(fsPath(path.join(this.dest.root, ...segments)));
      } catch {
        return; // not empty (or gone): stop climbing
      }
      segments.pop();
    }
    this.dest.recheck();
  }

  /** Removes quarantine folders older than --quarantine-days. */
  async expireQuarantine(now = Date.now()): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.quarantineRoot).catch(() => [] as string[])) {
      const dir = path.join(this.quarantineRoot, name);
      const st = await lstat(dir).catch(() => undefined);
      if (st?.isDirectory() && now - st.mtimeMs > this.quarantineDays * DAY_MS) {
        await rm(dir, { recursive: true, force: true });
        removed++;
      }
    }
    return removed;
  }
}
