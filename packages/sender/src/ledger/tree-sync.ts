import { lstatSync } from 'node:fs';
import * as path from 'node:path';
import { fsPath, pathToBytes, printablePath, type Change } from '@diodesync/protocol';
import type { InventoryOptions } from '../inventory/inventory.js';
import type { SkippedEntry } from '../inventory/scan.js';
import { Settler } from '../inventory/settle.js';
import { exactRange, fileEntry, kindOf, subtreeRange, walkTree, type KeyRange, type WalkEntry } from '../inventory/walk.js';
import { log } from '../log.js';
import type { Ledger, LedgerVersion, SeenFile } from './store.js';

/** Files per ledger transaction of a walk. */
const BATCH_FILES = 1000;
/** Skipped entries already logged (path and reason): each is said once, not at every walk. */
const MAX_SKIPS_REMEMBERED = 100_000;

/** A path that left the tree: deleted, or renamed (the new path's version took over `fromId`'s sends). */
export interface TreeChange {
  change: Change;
  fromId: number;
  toId?: number;
}

/** What a walk or a look at some paths found. */
export interface SyncOutcome {
  changes: TreeChange[];
  /** New versions (to send). */
  added: number;
}

const byteOrder = (a: string, b: string) => Buffer.compare(pathToBytes(a), pathToBytes(b));
const NO_CHANGES: SyncOutcome = { changes: [], added: 0 };

/**
 * The tree into the ledger, a range at a time. Input: a walk of the whole tree (paced or not), or
 * paths an event named; output: ledger rows in line with the tree, the deletes and renames that
 * makes (with --delete), the directories, and skipped entries logged once each. Holds only the
 * batch under way, the files still settling and the directories: never the tree.
 */
export class TreeSync {
  /** Every directory of the tree, in wire byte order (in memory: bounded by directories, not files). */
  dirs: string[] = [];
  /** A directory was found (watch mode watches it). */
  onDir: (relPath: string) => void = () => undefined;
  /** A directory is gone. */
  onDirGone: (relPath: string) => void = () => undefined;
  /** Files per ledger transaction (a test makes it small to cross batch boundaries). */
  batchFiles = BATCH_FILES;
  /** Entries a walk visited: paces the next one. */
  entriesLastWalk = 0;
  private readonly settler: Settler;
  private readonly skipsLogged = new Set<string>();
  /** Directories found by a look at some paths while a walk is under way: the walk's list lacks them. */
  private dirsDuringWalk: string[] | undefined;

  constructor(
    private readonly options: InventoryOptions,
    private readonly ledger: Ledger,
    private readonly redundancy: number,
    private readonly counts: { skipped: number; unreadable: number },
    /** The hash of a version that changed while being sent (the ledger forgot it): its delete still names it. */
    private readonly hashOf: (versionId: number) => Buffer | undefined = () => undefined,
  ) {
    this.settler = new Settler(options.settleMs);
  }

  /** Earliest time a file still being written will have settled; undefined: none is settling. */
  get settlingUntil(): number | undefined {
    return this.settler.settlingUntil;
  }

  /** The file was last seen still being written (it keeps the version it has). */
  stillWritten(relPath: string): boolean {
    return this.settler.holds(relPath);
  }

  /** Files still being written that are due for another look now. */
  settlingDue(now: number): string[] {
    return this.settler.dueAt(now);
  }

  /**
   * Walks the whole tree into the ledger: unchanged files cost no write, changed ones get a new
   * version, rows the walk did not see are gone. `pace` is awaited between batches (never with a
   * batch half done: the lstat of a file and its ledger sync happen without I/O between them).
   */
  async walk(pace?: (entries: number) => Promise<void>): Promise<SyncOutcome> {
    const started = performance.now();
    const sinceId = this.ledger.maxVersionId();
    const dirs: string[] = [];
    this.dirsDuringWalk = [];
    let skipped = 0;
    let unreadable = 0;
    let files = 0;
    let entries = 0;
    let vanished: LedgerVersion[] = [];
    let added = 0;
    try {
      const result = await this.syncWalk(walkTree(this.options.source, this.options.filter), { from: Buffer.alloc(0), to: undefined }, async (e) => {
        entries++;
        if (e.kind === 'file') files++;
        else if (e.kind === 'dir') {
          dirs.push(e.relPath);
          this.onDir(e.relPath);
        } else {
          skipped++;
          if (e.entry.unreadable) unreadable++;
        }
      }, pace ? () => pace(entries) : undefined);
      vanished = result.vanished;
      added = result.added;
      for (const d of this.dirsDuringWalk) if (!dirs.includes(d)) dirs.push(d);
    } finally {
      this.dirsDuringWalk = undefined;
    }
    this.dirs = dirs.sort(byteOrder);
    this.entriesLastWalk = entries;
    this.counts.skipped = skipped;
    this.counts.unreadable = unreadable;
    log('scan', { files, dirs: dirs.length, skipped, ms: Math.round(performance.now() - started) });
    return { changes: this.changesOf(vanished, sinceId), added };
  }

  /**
   * Brings the ledger in line for these paths alone (an event named them, or a file settled):
   * each is looked at (a file, a directory walked whole, or gone) and synced, without a walk.
   */
  async syncPaths(paths: readonly string[]): Promise<SyncOutcome> {
    if (paths.length === 0) return NO_CHANGES;
    const sinceId = this.ledger.maxVersionId();
    const vanished: LedgerVersion[] = [];
    let added = 0;
    for (const relPath of new Set(paths)) {
      const r = await this.syncPath(relPath);
      vanished.push(...r.vanished);
      added += r.added;
    }
    return { changes: this.changesOf(vanished, sinceId), added };
  }

  private async syncPath(relPath: string): Promise<{ vanished: LedgerVersion[]; added: number }> {
    const key = pathToBytes(relPath);
    const absPath = path.join(this.options.source, relPath);
    let st;
    try {
      st = lstatSync(fsPath(absPath), { throwIfNoEntry: false });
    } catch {
      st = undefined; // unreadable: as good as gone; the next walk says why
    }
    const seen: SeenFile[] = [];
    if (st?.isFile()) {
      const e = fileEntry(this.options.source, relPath, this.options.filter);
      if (e?.kind === 'file') seen.push({ file: e.file, held: !this.settler.isSettled(e.file, Date.now()) });
      else if (e?.kind === 'skipped') this.reportSkipped(e.entry);
    } else {
      this.settler.forget(relPath);
      if (st && !st.isDirectory()) this.reportSkipped({ relPath, reason: kindOf(st) });
    }
    const exact = this.ledger.syncRange(seen, exactRange(key), this.redundancy, (p) => this.present(p));
    const below = st?.isDirectory()
      ? await this.syncDir(relPath, key)
      : this.ledger.syncRange([], subtreeRange(key), this.redundancy, (p) => this.present(p));
    if (!st?.isDirectory()) this.dropDirs(relPath);
    return { vanished: [...exact.vanished, ...below.vanished], added: exact.added + below.added };
  }

  /** A directory an event named: walked whole (it may be new, or moved in with its files). */
  private async syncDir(relPath: string, key: Buffer): Promise<{ vanished: LedgerVersion[]; added: number }> {
    this.addDir(relPath);
    return this.syncWalk(walkTree(this.options.source, this.options.filter, relPath), subtreeRange(key), async (e) => {
      if (e.kind === 'dir') this.addDir(e.relPath);
    });
  }

  private addDir(relPath: string): void {
    if (!this.dirs.includes(relPath)) {
      this.dirs.push(relPath);
      this.dirs.sort(byteOrder);
    }
    this.dirsDuringWalk?.push(relPath);
    this.onDir(relPath);
  }

  private dropDirs(relPath: string): void {
    const prefix = `${relPath}/`;
    const gone = this.dirs.filter((d) => d === relPath || d.startsWith(prefix));
    if (gone.length === 0) return;
    this.dirs = this.dirs.filter((d) => !gone.includes(d));
    for (const d of gone) this.onDirGone(d);
  }

  /**
   * A walk (of the tree, or of one directory) merged into the ledger range by range: a batch of
   * files is synced with every row between the end of the last batch and its last entry.
   */
  private async syncWalk(
    walk: AsyncIterable<WalkEntry>,
    range: KeyRange,
    each: (e: WalkEntry) => Promise<void>,
    pace?: () => Promise<void>,
  ): Promise<{ vanished: LedgerVersion[]; added: number }> {
    const vanished: LedgerVersion[] = [];
    let added = 0;
    let batch: SeenFile[] = [];
    let from = range.from;
    let lastKey: Buffer | undefined;
    let sinceFlush = 0;
    const flush = (to: Buffer | undefined) => {
      const r = this.ledger.syncRange(batch, { from, to }, this.redundancy, (p) => this.present(p));
      // Only versions the receiver may hold can become a delete or rename: the rest is not kept.
      for (const v of r.vanished) if (v.totalSends > 0) vanished.push(v);
      for (const v of r.vanished) this.settler.forget(v.path);
      added += r.added;
      batch = [];
      sinceFlush = 0;
      if (to) from = to;
    };
    for await (const e of walk) {
      await each(e);
      sinceFlush++;
      if (e.kind === 'file') {
        lastKey = pathToBytes(e.file.relPath);
        batch.push({ file: e.file, held: !this.settler.isSettled(e.file, Date.now()) });
      } else if (e.kind === 'dir') {
        lastKey = Buffer.concat([pathToBytes(e.relPath), Buffer.of(0x2f)]);
      } else {
        lastKey = pathToBytes(e.entry.relPath);
        this.reportSkipped(e.entry);
      }
      // Flushed before the walk reads a directory (I/O): an event handled meanwhile never meets a stale lstat.
      if (e.kind === 'dir' || batch.length >= this.batchFiles || sinceFlush >= this.batchFiles) {
        flush(Buffer.concat([lastKey, Buffer.of(0)]));
        await pace?.();
      }
    }
    flush(range.to);
    return { vanished, added };
  }

  /** A path the walk did not see but that is a file of the tree all the same (made after its directory was listed). */
  private present(relPath: string): boolean {
    if (this.options.filter(relPath)) return false;
    try {
      return lstatSync(fsPath(path.join(this.options.source, relPath)), { throwIfNoEntry: false })?.isFile() ?? false;
    } catch {
      return false;
    }
  }

  /** Vanished versions the receiver may hold: a rename where a new, never-sent version of the same file appeared (same inode, size, mtime), else a delete. */
  private changesOf(vanished: readonly LedgerVersion[], sinceId: number): TreeChange[] {
    if (!this.options.announceChanges) return [];
    const changes: TreeChange[] = [];
    for (const old of vanished) {
      const sha256 = old.sha256 ?? this.hashOf(old.id);
      if (!sha256) continue;
      const to = this.ledger.renameTarget(old, sinceId);
      if (to) {
        this.ledger.adoptSends(to.id, old.id, this.redundancy);
        changes.push({ change: { op: 'rename', path: old.path, to: to.path, sha256 }, fromId: old.id, toId: to.id });
      } else {
        changes.push({ change: { op: 'delete', path: old.path, to: '', sha256 }, fromId: old.id });
      }
    }
    return changes;
  }

  /** Nothing is left out silently: each skipped entry is logged once with its reason. */
  private reportSkipped(e: SkippedEntry): void {
    const key = `${e.relPath}\0${e.reason}`;
    if (this.skipsLogged.has(key)) return;
    if (this.skipsLogged.size >= MAX_SKIPS_REMEMBERED) this.skipsLogged.clear();
    this.skipsLogged.add(key);
    log(e.unreadable ? 'entry-unreadable' : 'entry-skipped', { path: printablePath(e.relPath), reason: e.reason });
  }
}
