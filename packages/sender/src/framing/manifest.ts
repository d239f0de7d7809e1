import { createHash } from 'node:crypto';
import { chunkCountFor, comparePaths, encodeManifest, type Manifest, type ManifestScope, type ObjectHeader } from '@diodesync/protocol';
import type { ListedFile, ManifestSource } from '../ledger/manifest-source.js';
import { log } from '../log.js';
import { SendStopped, type Interleaver } from './interleaver.js';
import { sendObject } from './object-sender.js';
import type { FramingOptions } from './options.js';

/** What a manifest lists, read a page at a time from where it is kept (the ledger). */
export type { ListedFile, ManifestSource };

/**
 * Files (and, apart, directories) one piece or delta lists at most: about 0.7 MB encoded, so the
 * receiver decodes a bounded message whatever the tree. DIODESYNC_MANIFEST_PIECE_FILES sets a
 * smaller one (tests make a small tree span several pieces with it).
 */
export function pieceFilesLimit(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.DIODESYNC_MANIFEST_PIECE_FILES);
  return Number.isInteger(n) && n >= 1 && n <= 10_000 ? n : 10_000;
}

/** A full manifest cycle under way: where the next piece starts, and what building its pieces cost. */
interface CycleCursor {
  cycle: number;
  index: number;
  after: string | undefined;
  startedAt: number;
  buildMs: number;
}

/**
 * A cycle in watch mode spans at least this many times the time its pieces took to build (read
 * from the ledger, encode, hash): at most 1% of a core, however large the tree. At a million files
 * a cycle takes about 5 s, so the default 300 s stretches to about 500 s.
 */
const CYCLE_SPAN_PER_BUILD = 100;

/**
 * The manifests. Input: the source (every version ever sent, every directory) and what each
 * cycle of sends put on the wire; output: manifest objects of two kinds.
 * - A full cycle, in pieces of at most `pieceFiles` files in wire byte order of path, each naming
 *   the range it covers, so a receiver that loses one still learns every other range. --once sends
 *   a whole cycle at once; watch mode paces the pieces over --manifest-interval.
 * - A delta after a cycle of sends: the files sent and the paths removed since the previous one,
 *   numbered so that a receiver sees a lost one (the next full cycle repairs it). A delta that
 *   would exceed a piece is not sent: its number is skipped, the pieces tell the rest.
 */
export class ManifestSender {
  /** Full manifest cycles begun this session: the heartbeat's pass. */
  cycle = 0;
  /** When the last full cycle ended (its last piece left), 0 before the first. */
  lastSentAt = 0;
  /** Pieces of the last complete cycle: the pace of the next one. */
  private lastCount = 0;
  private lastStartedAt = 0;
  /** CPU milliseconds the last complete cycle took to build: no cycle spans less than CYCLE_SPAN_PER_BUILD times that. */
  private lastBuildMs = 0;
  private stretchedTo = 0;
  private cursor: CycleCursor | undefined;
  private deltaSeq = 0;
  private readonly deltaFiles = new Map<string, ListedFile>();
  private readonly deltaRemoved = new Set<string>();
  private deltaOverflow = false;
  private readonly pieceFiles: number;

  constructor(private readonly options: FramingOptions & { redundancy: number; pieceFiles?: number }) {
    this.pieceFiles = options.pieceFiles ?? pieceFilesLimit();
  }

  /** A version left (its last frame is out): the next delta lists it. */
  noteSent(file: ListedFile): void {
    this.deltaRemoved.delete(file.relPath);
    this.deltaFiles.set(file.relPath, file);
    this.checkDeltaSize();
  }

  /** A path the receiver may hold is gone (deleted, or renamed away): the next delta lists it removed. */
  noteRemoved(relPath: string): void {
    this.deltaFiles.delete(relPath);
    this.deltaRemoved.add(relPath);
    this.checkDeltaSize();
  }

  /** Beyond one piece the delta is dropped (memory stays bounded): the receiver learns it from the pieces. */
  private checkDeltaSize(): void {
    if (this.deltaFiles.size + this.deltaRemoved.size <= this.pieceFiles) return;
    this.deltaOverflow = true;
    this.deltaFiles.clear();
    this.deltaRemoved.clear();
  }

  /** Sends the delta of what went since the last one, if anything did. */
  async sendDelta(out: Interleaver, objectId: () => number): Promise<void> {
    if (this.deltaOverflow) {
      // A number skipped: the receiver knows it missed something and waits for the pieces.
      this.deltaSeq++;
      this.deltaOverflow = false;
      log('manifest-delta-skipped', { seq: this.deltaSeq, detail: 'more changes than one piece holds: the full manifest cycle carries them' });
    }
    if (this.deltaFiles.size + this.deltaRemoved.size === 0) return;
    const files = [...this.deltaFiles.values()];
    const removed = [...this.deltaRemoved];
    this.deltaFiles.clear();
    this.deltaRemoved.clear();
    const seq = ++this.deltaSeq;
    const sent = await this.sendManifest(out, objectId(), files, [], { kind: 'delta', seq, removed });
    if (sent) log('manifest-delta-sent', { seq, files: files.length, removed: removed.length });
  }

  /** --once: a whole cycle of pieces, one after the other. */
  async sendFull(out: Interleaver, source: ManifestSource, objectId: () => number): Promise<void> {
    this.cursor = undefined;
    while (await this.sendPiece(out, source, objectId(), Date.now())) { /* until the last piece */ }
  }

  /**
   * When the next piece is due, paced so that a cycle spans `intervalMs`: a new cycle `intervalMs`
   * after the previous one began, its pieces spread as the previous cycle's count says (the first
   * cycle, with nothing to pace by, goes at once).
   */
  nextPieceAt(intervalMs: number): number {
    const span = this.cycleSpan(intervalMs);
    if (!this.cursor) return this.lastStartedAt === 0 ? 0 : this.lastStartedAt + span;
    const spacing = this.lastCount === 0 ? 0 : span / (this.lastCount + 1);
    return this.cursor.startedAt + this.cursor.index * spacing;
  }

  /** --manifest-interval, or longer where building a cycle would take more than 1% of a core (said once per change). */
  private cycleSpan(intervalMs: number): number {
    const floor = Math.ceil((CYCLE_SPAN_PER_BUILD * this.lastBuildMs) / 1000) * 1000;
    const span = Math.max(intervalMs, floor);
    if (span !== intervalMs && Math.abs(span - this.stretchedTo) > this.stretchedTo / 10) {
      this.stretchedTo = span;
      log('manifest-interval-stretched', { set: intervalMs / 1000, seconds: span / 1000, buildMs: Math.round(this.lastBuildMs), detail: 'a cycle is paced to take at most 1% of a core' });
    }
    return span;
  }

  /** Watch mode: the pieces due by now (each a pass of its own, so file passes are never held up long). */
  async sendPiecesDue(out: Interleaver, source: ManifestSource, objectId: () => number, intervalMs: number): Promise<void> {
    const now = Date.now();
    while (this.nextPieceAt(intervalMs) <= now) {
      if (!(await this.sendPiece(out, source, objectId(), now))) break;
    }
  }

  /** Sends the next piece of the current cycle (beginning one if none is under way); false once the cycle ended. */
  private async sendPiece(out: Interleaver, source: ManifestSource, objectId: number, now: number): Promise<boolean> {
    if (!this.cursor) {
      this.cursor = { cycle: ++this.cycle, index: 0, after: undefined, startedAt: now, buildMs: 0 };
      this.lastStartedAt = now;
    }
    const c = this.cursor;
    // CPU time, not wall time: on a busy machine the wall time of the same work grows, and the cycle with it.
    const cpu = process.cpuUsage();
    const limit = this.pieceFiles;
    // One more than a piece holds says whether another piece follows (no empty last piece).
    let files = source.listedFiles(c.after, limit + 1);
    let last = files.length <= limit;
    if (!last) files = files.slice(0, limit);
    let to = last ? undefined : files[files.length - 1]!.relPath;
    const allDirs = source.dirs();
    let dirs = dirsIn(allDirs, c.after, to);
    if (dirs.length > limit) {
      // A tree of many directories and few files: the directories bound the piece too.
      dirs = dirs.slice(0, limit);
      to = dirs[dirs.length - 1]!;
      files = files.filter((f) => comparePaths(f.relPath, to!) <= 0);
      last = false;
    }
    const scope: ManifestScope = { kind: 'piece', cycle: c.cycle, index: c.index, count: last ? c.index + 1 : 0, ...(c.after !== undefined && { from: c.after }), ...(to !== undefined && { to }) };
    if (!(await this.sendManifest(out, objectId, files, dirs, scope, () => (c.buildMs += cpuMs(process.cpuUsage(cpu)))))) return false;
    log('manifest-piece-sent', { cycle: c.cycle, piece: c.index, files: files.length, dirs: dirs.length, last });
    if (last) {
      this.cursor = undefined;
      this.lastCount = c.index + 1;
      this.lastBuildMs = c.buildMs;
      this.lastSentAt = Date.now();
      log('manifest-sent', { cycle: c.cycle, pieces: c.index + 1 });
      return false;
    }
    c.index++;
    c.after = to;
    return true;
  }

  /** One manifest object; false if the send was stopped. `built`: told once it is encoded and hashed, before it is sent. */
  private async sendManifest(
    out: Interleaver, objectId: number, files: ListedFile[], dirs: readonly string[], scope: ManifestScope, built: () => void = () => undefined,
  ): Promise<boolean> {
    const manifest: Manifest = {
      createdAt: Date.now(), pass: this.cycle, passes: this.options.redundancy,
      files: files.map((f) => ({ path: f.relPath, size: f.size, mtimeMs: f.mtimeMs, sha256: f.sha256 })),
      dirs: [...dirs], scope,
    };
    const body = encodeManifest(manifest);
    const { chunkSize, fec } = this.options;
    const header: ObjectHeader = {
      kind: 'manifest', path: '', size: body.length, mtimeMs: Date.now(), mode: 0,
      sha256: createHash('sha256').update(body).digest(), chunkSize, chunkCount: chunkCountFor(body.length, chunkSize), version: 0,
      fecK: fec.k, fecM: fec.m,
    };
    built();
    try {
      await sendObject(out, objectId, header, [body], this.cycle);
    } catch (err) {
      if (err instanceof SendStopped) return false;
      throw err;
    }
    return true;
  }
}

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

/** The directories of a sorted list in the range (after, to]: two binary searches. */
export function dirsIn(sorted: readonly string[], after: string | undefined, to: string | undefined): readonly string[] {
  /** The index of the first directory after `bound`. */
  const firstAfter = (bound: string) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (comparePaths(sorted[mid]!, bound) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return sorted.slice(after === undefined ? 0 : firstAfter(after), to === undefined ? sorted.length : firstAfter(to));
}
