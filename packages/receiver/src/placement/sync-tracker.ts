import { type Manifest, type ManifestFile, type HashedHeader, type ObjectHeader, type ReportEntry as MissingEntry, type Streamed, type SyncReport } from '@diodesync/protocol';
import { log } from '../log.js';
import type { DestTree } from './dest-tree.js';
import { MirrorIndex, type Announced } from './mirror-index.js';
import { isPermanentRefusal, pathRefusal } from './paths.js';
import { PieceCoverage, type PieceRange } from './piece-coverage.js';

/** report.json's types live in the protocol package: `diode-send ledger reset --from-report` reads what this writes. */
export type { MissingEntry, SyncReport };

/**
 * Reasons kept in memory as well as in the index (a full disk may refuse the index's write, and
 * the report must still say why); beyond this the oldest go, the index keeps them.
 */
const MAX_PROBLEMS_IN_MEMORY = 100_000;

/** Same mtime to the millisecond: what survives utimes() and every file system we target. */
const sameMtime = (a: number, b: number) => Math.abs(a - b) < 1;

/**
 * Compares the mirror with what the sender announces: manifest pieces (each replaces its range of
 * paths) and deltas (upserts and removals), kept in the on-disk `MirrorIndex`, not in memory.
 * "Synced" means: pieces covering the whole tree (of one cycle or of several, see
 * PieceCoverage; or a whole old-style manifest) have been applied since start, and no announced
 * file is pending (absent, or not the announced version).
 */
export class SyncTracker {
  private applying: Promise<void> = Promise.resolve();
  /** Pieces covering the whole tree applied since start: the receiver knows the whole tree. */
  private complete = false;
  /** Ranges covered by pieces applied since start, until complete (then all is covered). */
  private covered = new PieceCoverage();
  private pending = 0;
  private createdAt: number | undefined;
  private lastDeltaSeq: number | undefined;
  /** Why a path is not in the mirror, the latest ones (the index has them all, if it could write them). */
  private readonly problems = new Map<string, string>();
  /** Told when a file this receiver had verified is found gone or changed in the mirror. */
  onLost: (path: string) => void = () => undefined;

  constructor(private readonly dest: DestTree, private readonly portableNames = false, readonly index = new MirrorIndex(':memory:')) {
    index.startRun();
  }

  /** Records why a file is not (yet) in the mirror; the next placement of the path clears it. */
  noteProblem(path: string, reason: string): void {
    this.problems.delete(path);
    if (this.problems.size >= MAX_PROBLEMS_IN_MEMORY) this.problems.delete(this.problems.keys().next().value!);
    this.problems.set(path, reason);
    this.index.setProblem(path, reason);
  }

  private problemOf(path: string, inIndex: string | undefined): string | undefined {
    return this.problems.get(path) ?? inIndex;
  }

  /** True if something is missing and nothing missing can ever arrive: every such file is refused for its name. */
  get onlyRefusedLeft(): boolean {
    if (!this.complete || this.pending === 0) return false;
    for (const row of this.index.rows('pending = 1')) if (!isPermanentRefusal(this.problemOf(row.path, row.problem))) return false;
    return true;
  }

  get synced(): boolean {
    return this.complete && this.pending === 0;
  }

  get pendingCount(): number {
    return this.pending;
  }

  /** Waits until manifests already received have been compared with the mirror. */
  async settle(): Promise<void> {
    await this.applying;
  }

  /**
   * Applies a manifest piece or delta (serialised: in arrival order). Given as a loader, it is read
   * only when its turn comes: pieces waiting behind a slow one wait on disk, not decoded in memory.
   */
  applyManifest(manifest: Manifest | (() => Promise<Manifest>)): Promise<Manifest> {
    const applied = this.applying.then(async () => {
      const m = typeof manifest === 'function' ? await manifest() : manifest;
      await this.apply(m);
      return m;
    });
    this.applying = applied.then(() => undefined, () => undefined);
    return applied;
  }

  private async apply(manifest: Manifest): Promise<void> {
    const scope = manifest.scope ?? { kind: 'piece', cycle: manifest.pass, index: 0, count: 1 };
    this.dest.recheck();
    for (const dir of manifest.dirs) {
      if (pathRefusal(dir, this.portableNames) === undefined) await this.dest.ensureDir(dir).catch(() => undefined);
    }
    const listed: { file: Announced; pending: boolean }[] = [];
    for (const file of manifest.files) {
      const refusal = pathRefusal(file.path, this.portableNames);
      if (refusal !== undefined) {
        // Never silently: a file the mirror will not hold is missing, with its reason.
        listed.push({ file, pending: true });
        this.noteProblem(file.path, refusal);
        continue;
      }
      // Mostly answered at once from an lstat and the index: a piece of files in place is checked
      // without a wait, so its objects die young instead of filling the old generation.
      if (this.inPlaceByIndex(file) ?? (await this.isInPlace(file))) {
        listed.push({ file, pending: false });
        continue;
      }
      // Someone removed or changed it under us: what we verified earlier no longer holds.
      if (this.index.get(file.path)?.verified) {
        this.index.setVerified(file.path, undefined);
        this.onLost(file.path);
      }
      listed.push({ file, pending: true });
    }
    // Files placed while we were looking are ticked off here: placed() saw the old announcement.
    for (const entry of listed) if (entry.pending && this.matchesVerified(entry.file)) entry.pending = false;
    if (scope.kind === 'delta') {
      if (this.lastDeltaSeq !== undefined && scope.seq > this.lastDeltaSeq + 1) {
        log('manifest-delta-missed', { after: this.lastDeltaSeq, got: scope.seq, detail: 'the next full manifest cycle tells what it held' });
      }
      this.lastDeltaSeq = scope.seq;
      this.index.applyDelta(listed, scope.removed);
    } else {
      // A piece the index could not store (a full disk) does not count as received.
      if (this.index.replaceRange(scope.from, scope.to, listed)) this.cover({ from: scope.from, to: scope.to });
    }
    this.createdAt = manifest.createdAt;
    this.index.setMeta('created_at', manifest.createdAt);
    if (this.complete) this.index.setMeta('complete', 1);
    this.pending = this.index.pendingCount();
  }

  /** A piece's range is known now; once the pieces applied cover the whole tree, it is complete. */
  private cover(range: PieceRange): void {
    if (this.complete) return;
    this.covered.add(range);
    if (!this.covered.whole) return;
    this.complete = true;
    this.covered = new PieceCoverage();
  }

  /** True if some piece applied since start covers this path: a mirror file there that is not announced is unexpected. */
  private isCovered(path: string): boolean {
    return this.complete || this.covered.covers(path);
  }

  private matchesVerified(f: { path: string; size: number; mtimeMs: number; sha256: Buffer }, thisRun = false): boolean {
    const row = this.index.get(f.path);
    const v = row?.verified;
    return !!v && (!thisRun || row.verifiedThisRun) && v.size === f.size && sameMtime(v.mtimeMs, f.mtimeMs) && v.sha256.equals(f.sha256);
  }

  /** A verified file was placed: remember its hash and tick it off. */
  placed(path: string, size: number, mtimeMs: number, sha256: Buffer): void {
    this.problems.delete(path);
    if (this.index.placed(path, { size, mtimeMs, sha256 })) this.pending--;
  }

  /** A rename or copy put a file in place: tick it off if it is what the manifest wants. */
  placedByChange(path: string): void {
    const row = this.index.get(path);
    if (!row?.pending || !row.announced) return;
    const wanted = { path, ...row.announced };
    void this.isInPlace(wanted).then((ok) => {
      if (ok && this.index.get(path)?.pending && this.index.setPending(path, false)) this.pending--;
    });
  }

  /**
   * True if this run verified exactly this version in the mirror: its data need not be assembled.
   * An earlier run's verification does not count here (the mirror may have been emptied since):
   * `isInPlace` looks first.
   */
  holds(header: HashedHeader): boolean {
    return this.matchesVerified(header, true);
  }

  /**
   * Whether the mirror holds exactly this version, from an lstat and what this receiver verified;
   * undefined if only hashing the file can tell.
   */
  private inPlaceByIndex(file: { path: string; size: number; mtimeMs: number; sha256: Buffer }): boolean | undefined {
    const st = this.dest.inspect(file.path);
    if (!st?.isFile || st.size !== file.size || !sameMtime(st.mtimeMs, file.mtimeMs)) return false;
    const v = this.index.verifiedOf(file.path);
    if (!v || v.size !== st.size || !sameMtime(v.mtimeMs, st.mtimeMs)) return undefined;
    return v.sha256.equals(file.sha256);
  }

  /** Looks in the mirror (hashing once if needed) for exactly this version. */
  async isInPlace(file: { path: string; size: number; mtimeMs: number; sha256: Buffer }): Promise<boolean> {
    const known = this.inPlaceByIndex(file);
    if (known !== undefined) return known;
    // Present, as announced by size and mtime, but not verified by this receiver: hash it once
    // (and keep what was hashed only if the file did not move meanwhile).
    const sha256 = await this.dest.hash(file.path).catch(() => undefined);
    const st = this.dest.inspect(file.path);
    if (!sha256 || !st?.isFile || st.size !== file.size || !sameMtime(st.mtimeMs, file.mtimeMs)) return false;
    this.index.setVerified(file.path, { size: st.size, mtimeMs: st.mtimeMs, sha256 });
    return sha256.equals(file.sha256);
  }

  /**
   * The report, drawn as it is written: pending files read from the index a page at a time (once
   * for those absent, once for those present with other content), the mirror walked once in byte
   * order for files nobody announced. Memory does not grow with the tree.
   */
  async report(): Promise<Streamed<SyncReport>> {
    await this.applying;
    const announced = this.createdAt !== undefined;
    return {
      generatedAt: new Date().toISOString(),
      dest: this.dest.root,
      synced: this.synced,
      manifestCreatedAt: announced ? isoTime(this.createdAt!) : null,
      manifestFiles: announced ? this.index.announcedCount() : 0,
      missing: this.pendingEntries(false),
      outdated: this.pendingEntries(true),
      unexpected: announced ? this.unexpectedFiles() : [],
    };
  }

  /** Pending files absent from the mirror, or (`present`) there with other content. */
  private async *pendingEntries(present: boolean): AsyncGenerator<MissingEntry> {
    for (const row of this.index.rows('pending = 1')) {
      const reason = this.problemOf(row.path, row.problem);
      const there = !isPermanentRefusal(reason) && this.dest.inspect(row.path) !== undefined;
      if (there !== present) continue;
      const a = row.announced!;
      yield { path: row.path, size: a.size, sha256: a.sha256.toString('hex'), mtime: isoTime(a.mtimeMs), ...(reason && { reason }) };
    }
  }

  private async *unexpectedFiles(): AsyncGenerator<string> {
    for await (const run of this.dest.fileRuns()) yield* run.filter((p) => this.isCovered(p) && !this.index.isAnnounced(p));
  }
}

/** ISO time, or the number of milliseconds where a date cannot say it (beyond year 275760). */
function isoTime(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

export type { ManifestFile };
