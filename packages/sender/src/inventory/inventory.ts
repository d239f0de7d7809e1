import { printablePath } from '@diodesync/protocol';
import { log } from '../log.js';
import { scanTree, type SkippedEntry, type SourceFile } from './scan.js';
import { Settler } from './settle.js';
import type { TreeFilter } from './tree-filter.js';

/** The options that decide what of the tree is sent, and when it is looked at. */
export interface InventoryOptions {
  source: string;
  /** Which paths are mirrored (--include, --exclude, temporary names). */
  filter: TreeFilter;
  /** A file is sent once its size and mtime have not changed for this long. */
  settleMs: number;
  /** --delete: announce files gone from the tree (R times), and renames instead of resends. */
  announceChanges: boolean;
  /** Watch mode: poll the tree this often instead of relying on file-system events. */
  pollMs?: number;
}

/** Skipped entries already logged (path and reason): each is said once, not at every rescan. */
const MAX_SKIPS_REMEMBERED = 100_000;

/**
 * The tree as it may be sent. Input: the source directory, and the file each path is being sent
 * as; output, at each scan: the settled files in path order, and the directories. Entries left
 * out are counted, and logged once each.
 */
export class Inventory {
  /** The directories of the last scan: the manifest lists them. */
  dirs: string[] = [];
  private readonly settler: Settler;
  private readonly skipsLogged = new Set<string>();

  constructor(
    private readonly options: InventoryOptions,
    private readonly counts: { skipped: number; unreadable: number },
  ) {
    this.settler = new Settler(options.settleMs);
  }

  /** Earliest time a file still being written will have settled; undefined: none is settling. */
  get settlingUntil(): number | undefined {
    return this.settler.settlingUntil;
  }

  /** The last scan found this path in the tree, settled or still being written. */
  inTree(relPath: string): boolean {
    return this.settler.saw(relPath);
  }

  async scan(current: (relPath: string) => SourceFile | undefined): Promise<SourceFile[]> {
    const started = performance.now();
    const snapshot = await scanTree(this.options.source, this.options.filter);
    log('scan', { files: snapshot.files.length, dirs: snapshot.dirs.length, skipped: snapshot.skipped.length, ms: Math.round(performance.now() - started) });
    this.reportSkipped(snapshot.skipped);
    const files = this.settler.settled(snapshot.files, Date.now(), current);
    this.dirs = snapshot.dirs;
    return files;
  }

  /** Nothing is left out silently: each skipped entry is logged once with its reason, and counted. */
  private reportSkipped(skipped: readonly SkippedEntry[]): void {
    this.counts.skipped = skipped.length;
    this.counts.unreadable = skipped.filter((e) => e.unreadable).length;
    for (const e of skipped) {
      const key = `${e.relPath}\0${e.reason}`;
      if (this.skipsLogged.has(key)) continue;
      if (this.skipsLogged.size >= MAX_SKIPS_REMEMBERED) this.skipsLogged.clear();
      this.skipsLogged.add(key);
      log(e.unreadable ? 'entry-unreadable' : 'entry-skipped', { path: printablePath(e.relPath), reason: e.reason });
    }
  }
}
