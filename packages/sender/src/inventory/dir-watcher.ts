import { watch, type FSWatcher } from 'node:fs';
import * as path from 'node:path';
import { fsPath, pathFromBytes } from '@diodesync/protocol';

/** Paths waiting for a look; past this many, a full walk instead. */
const MAX_DIRTY = 10_000;

/**
 * Which paths changed, from inotify: one non-recursive fs.watch per directory (libuv shares one
 * inotify descriptor; each directory costs one watch of fs.inotify.max_user_watches), new
 * directories added as the tree sync finds them. An event names the entry: the path is marked
 * dirty, to be looked at alone after a short debounce. Nothing here is the truth: a missed event
 * is caught by the next full walk. Input: directories to watch; output: dirty paths, or "walk
 * soon" (too many, or a watch failed), or "unavailable" (ENOSPC: too many directories to watch).
 */
export class DirWatcher {
  private readonly watchers = new Map<string, FSWatcher>();
  /** Dirty path -> when it was first marked. */
  private readonly dirty = new Map<string, number>();
  /** Too many dirty paths, or a directory's watch failed: only a full walk knows what changed. */
  walkSoon = false;
  /** Why events cannot be had (the sender falls back to paced walks), if they cannot. */
  unavailable: string | undefined;

  constructor(
    private readonly root: string,
    private readonly onChange: () => void,
  ) {}

  get size(): number {
    return this.watchers.size;
  }

  /** Watches this directory (relative; '' the root), if not yet. */
  add(relDir: string): void {
    if (this.unavailable !== undefined || this.watchers.has(relDir)) return;
    let w: FSWatcher;
    try {
      w = watch(fsPath(relDir === '' ? this.root : path.join(this.root, relDir)), { persistent: false, encoding: 'buffer' }, (_event, name) =>
        this.mark(name ? (relDir === '' ? pathFromBytes(name) : `${relDir}/${pathFromBytes(name)}`) : relDir),
      );
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EMFILE') {
        this.unavailable = `${code}: out of inotify watches (fs.inotify.max_user_watches) at ${this.watchers.size} directories`;
        this.close();
        this.onChange();
      }
      return; // gone meanwhile (ENOENT): its parent's event says so
    }
    w.on('error', () => {
      // The directory went away or its watch broke: its parent (or the next walk) tells what happened.
      this.remove(relDir);
      this.mark(relDir);
    });
    this.watchers.set(relDir, w);
  }

  remove(relDir: string): void {
    this.watchers.get(relDir)?.close();
    this.watchers.delete(relDir);
  }

  /** After a full walk: stops watching directories that are no longer there. */
  keepOnly(dirs: readonly string[]): void {
    const keep = new Set(dirs);
    for (const d of [...this.watchers.keys()]) if (d !== '' && !keep.has(d)) this.remove(d);
  }

  private mark(relPath: string): void {
    if (relPath === '') this.walkSoon = true; // the root itself: no single path to look at
    else if (!this.dirty.has(relPath)) {
      if (this.dirty.size >= MAX_DIRTY) {
        this.walkSoon = true;
        this.dirty.clear();
      } else this.dirty.set(relPath, Date.now());
    }
    this.onChange();
  }

  /** When the oldest dirty path was marked; undefined: none. */
  get dirtySince(): number | undefined {
    let oldest: number | undefined;
    for (const at of this.dirty.values()) oldest = Math.min(oldest ?? Infinity, at);
    return oldest;
  }

  /** The dirty paths, now clean. */
  takeDirty(): string[] {
    const paths = [...this.dirty.keys()];
    this.dirty.clear();
    return paths;
  }

  close(): void {
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }
}
