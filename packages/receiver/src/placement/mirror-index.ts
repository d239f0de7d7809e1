import Database from 'better-sqlite3';
import { pathFromBytes, pathToBytes } from '@diodesync/protocol';
import { log } from '../log.js';

/**
 * The receiver's index of the tree, on disk (SQLite, `<state>/mirror-index.sqlite`), so that memory
 * does not grow with the tree. One row per path: what the sender announced (size, mtime, SHA-256;
 * NULL when it does not list the path), what this receiver verified in place (so a placed file is
 * not hashed again), whether the announced version is still pending, and why it is not in the
 * mirror where the receiver knows. Paths are keyed by their wire bytes: SQLite compares BLOBs as
 * memcmp, which is the manifest pieces' order (Buffer.compare).
 */

export interface Announced { path: string; size: number; mtimeMs: number; sha256: Buffer }
export interface IndexRow {
  path: string;
  announced: { size: number; mtimeMs: number; sha256: Buffer } | undefined;
  verified: { size: number; mtimeMs: number; sha256: Buffer } | undefined;
  /** Verified by this run of the receiver (an earlier run's word needs a look at the mirror first). */
  verifiedThisRun: boolean;
  pending: boolean;
  problem: string | undefined;
}

interface RawRow {
  path: Buffer; a_size: number | null; a_mtime: number | null; a_sha: Buffer | null;
  v_size: number | null; v_mtime: number | null; v_sha: Buffer | null; v_run: number | null; pending: number; problem: string | null;
}

export const MIRROR_INDEX_FILE = 'mirror-index.sqlite';
const PAGE = 1000;
const INDEX_CACHE_KIB = 2048;
/** A failed write is logged at most this often: on a full disk every placement would say it. */
const WRITE_FAILURE_LOG_MS = 10_000;

function toRow(r: RawRow, run: number): IndexRow {
  return {
    verifiedThisRun: r.v_run === run,
    path: pathFromBytes(r.path),
    announced: r.a_sha ? { size: r.a_size!, mtimeMs: r.a_mtime!, sha256: r.a_sha } : undefined,
    verified: r.v_sha ? { size: r.v_size!, mtimeMs: r.v_mtime!, sha256: r.v_sha } : undefined,
    pending: r.pending === 1,
    problem: r.problem ?? undefined,
  };
}

/** A range of paths (after `from`, up to and including `to`) as SQL. */
function rangeSql(from: string | undefined, to: string | undefined): { where: string; params: Buffer[] } {
  const parts: string[] = [];
  const params: Buffer[] = [];
  if (from !== undefined) { parts.push('path > ?'); params.push(pathToBytes(from)); }
  if (to !== undefined) { parts.push('path <= ?'); params.push(pathToBytes(to)); }
  return { where: parts.length ? parts.join(' AND ') : '1', params };
}

export class MirrorIndex {
  private readonly db: Database.Database;
  private run = 0;
  private lastFailureLogged = 0;
  /** Writes that failed (a full disk): what they would have said is learnt again from the next manifest cycle. */
  writeFailures = 0;
  private readonly getStmt: Database.Statement<[Buffer], RawRow>;
  private readonly announcedStmt: Database.Statement<[Buffer], number>;
  private readonly verifiedOfStmt: Database.Statement<[Buffer], { v_size: number; v_mtime: number; v_sha: Buffer }>;
  private readonly announceStmt: Database.Statement;
  private readonly verifiedStmt: Database.Statement;
  private readonly pendingStmt: Database.Statement;
  private readonly problemStmt: Database.Statement;
  private readonly placedStmt: Database.Statement;
  private readonly unverifyStmt: Database.Statement;
  private readonly clearProblemStmt: Database.Statement;
  private readonly unannounceStmt: Database.Statement;

  /** `file`: the index's path, or ':memory:' (tests, `verify` of nothing). */
  constructor(file: string, options: { readonly?: boolean } = {}) {
    this.db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    // 2 MB of page cache, not better-sqlite3's 16 MB: the index is read and written in path order
    // (pieces, the report) or a row at a time (placements), and at a million files the larger
    // cache filled up and was a sixth of the receiver's memory.
    this.db.pragma(`cache_size = -${INDEX_CACHE_KIB}`);
    if (!options.readonly) {
      this.db.pragma('journal_mode = WAL');
      // Losing the last commits in a power cut costs nothing lasting: the next manifest cycle tells again.
      this.db.pragma('synchronous = NORMAL');
      this.db.exec(`
        CREATE TABLE IF NOT EXISTS files (
          path BLOB PRIMARY KEY,
          a_size INTEGER, a_mtime REAL, a_sha BLOB,
          v_size INTEGER, v_mtime REAL, v_sha BLOB, v_run INTEGER,
          pending INTEGER NOT NULL DEFAULT 0,
          problem TEXT
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS files_pending ON files(path) WHERE pending = 1;
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
      `);
    }
    this.getStmt = this.db.prepare('SELECT * FROM files WHERE path = ?');
    this.announcedStmt = this.db.prepare<[Buffer], number>('SELECT a_sha IS NOT NULL FROM files WHERE path = ?').pluck();
    this.verifiedOfStmt = this.db.prepare<[Buffer], { v_size: number; v_mtime: number; v_sha: Buffer }>('SELECT v_size, v_mtime, v_sha FROM files WHERE path = ? AND v_sha IS NOT NULL');
    if (options.readonly) {
      this.announceStmt = this.verifiedStmt = this.pendingStmt = this.problemStmt = this.getStmt;
      this.placedStmt = this.unverifyStmt = this.clearProblemStmt = this.unannounceStmt = this.getStmt;
      return;
    }
    this.announceStmt = this.db.prepare(`INSERT INTO files (path, a_size, a_mtime, a_sha, pending) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (path) DO UPDATE SET a_size = excluded.a_size, a_mtime = excluded.a_mtime, a_sha = excluded.a_sha, pending = excluded.pending`);
    this.verifiedStmt = this.db.prepare(`INSERT INTO files (path, v_size, v_mtime, v_sha, v_run) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (path) DO UPDATE SET v_size = excluded.v_size, v_mtime = excluded.v_mtime, v_sha = excluded.v_sha, v_run = excluded.v_run`);
    this.pendingStmt = this.db.prepare('UPDATE files SET pending = ? WHERE path = ?');
    this.problemStmt = this.db.prepare(`INSERT INTO files (path, problem) VALUES (?, ?) ON CONFLICT (path) DO UPDATE SET problem = excluded.problem`);
    this.placedStmt = this.db.prepare(`INSERT INTO files (path, v_size, v_mtime, v_sha, v_run) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (path) DO UPDATE SET v_size = excluded.v_size, v_mtime = excluded.v_mtime, v_sha = excluded.v_sha, v_run = excluded.v_run, problem = NULL,
        pending = CASE WHEN pending = 1 AND a_sha IS excluded.v_sha AND a_size IS excluded.v_size AND abs(a_mtime - excluded.v_mtime) < 1 THEN 0 ELSE pending END
      RETURNING pending`);
    this.unverifyStmt = this.db.prepare('UPDATE files SET v_size = NULL, v_mtime = NULL, v_sha = NULL WHERE path = ?');
    this.clearProblemStmt = this.db.prepare('UPDATE files SET problem = NULL WHERE path = ? AND problem IS NOT NULL');
    this.unannounceStmt = this.db.prepare('UPDATE files SET a_size = NULL, a_mtime = NULL, a_sha = NULL, pending = 0 WHERE path = ?');
  }

  /**
   * A new run: nothing pending from an earlier one (what is pending is learnt again from this
   * run's manifests), and its verifications are only trusted after a look at the mirror.
   */
  startRun(): void {
    this.run = Number(this.meta('run') ?? 0) + 1;
    this.write('start', () => {
      this.db.exec('UPDATE files SET pending = 0 WHERE pending = 1');
      this.setMeta('run', this.run);
    }, undefined);
  }

  /**
   * A write that fails with the disk (full, or an I/O error) is logged and counted, not thrown: the
   * receiver goes on placing files. It errs towards "not synced": a pending mark that could not be
   * cleared stays, and a piece that could not be stored does not count as received.
   */
  private write<T>(what: string, fn: () => T, failed: T): T {
    try {
      return fn();
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (!code.startsWith('SQLITE_FULL') && !code.startsWith('SQLITE_IOERR')) throw err;
      this.writeFailures++;
      if (Date.now() - this.lastFailureLogged >= WRITE_FAILURE_LOG_MS) {
        this.lastFailureLogged = Date.now();
        log('index-write-failed', { what, error: code, failures: this.writeFailures, keep: 'the next manifest cycle tells again' });
      }
      return failed;
    }
  }

  get(path: string): IndexRow | undefined {
    const r = this.getStmt.get(pathToBytes(path));
    return r && toRow(r, this.run);
  }

  /** A piece: the range now holds exactly `listed` as announced (each with whether it is pending). */
  replaceRange(from: string | undefined, to: string | undefined, listed: { file: Announced; pending: boolean }[]): boolean {
    const { where, params } = rangeSql(from, to);
    return this.write('piece', () => this.db.transaction(() => {
      this.db.prepare(`UPDATE files SET a_size = NULL, a_mtime = NULL, a_sha = NULL, pending = 0 WHERE ${where} AND a_sha IS NOT NULL`).run(...params);
      for (const { file, pending } of listed) this.announce(file, pending);
      this.db.prepare(`DELETE FROM files WHERE ${where} AND a_sha IS NULL AND v_sha IS NULL AND problem IS NULL`).run(...params);
      return true;
    })(), false);
  }

  /** A delta: these are announced now (upserted), those no longer. */
  applyDelta(listed: { file: Announced; pending: boolean }[], removed: string[]): boolean {
    return this.write('delta', () => this.db.transaction(() => {
      for (const { file, pending } of listed) this.announce(file, pending);
      for (const p of removed) this.unannounceStmt.run(pathToBytes(p));
      return true;
    })(), false);
  }

  private announce(f: Announced, pending: boolean): void {
    this.announceStmt.run(pathToBytes(f.path), f.size, f.mtimeMs, f.sha256, pending ? 1 : 0);
  }

  setVerified(path: string, v: { size: number; mtimeMs: number; sha256: Buffer } | undefined): void {
    this.write('verified', () => {
      if (v) this.verifiedStmt.run(pathToBytes(path), v.size, v.mtimeMs, v.sha256, this.run);
      else this.unverifyStmt.run(pathToBytes(path));
    }, undefined);
  }

  /** Marks a path pending or not; false if the write failed. */
  setPending(path: string, pending: boolean): boolean {
    return this.write('pending', () => this.pendingStmt.run(pending ? 1 : 0, pathToBytes(path)).changes >= 0, false);
  }

  setProblem(path: string, problem: string | undefined): void {
    this.write('problem', () => {
      if (problem !== undefined) this.problemStmt.run(pathToBytes(path), problem);
      else this.clearProblemStmt.run(pathToBytes(path));
    }, undefined);
  }

  /**
   * A file placed and verified: its verification kept, its problem cleared, and no longer pending
   * if it is the announced version. Returns whether it was pending and is not any more. One statement.
   */
  placed(path: string, v: { size: number; mtimeMs: number; sha256: Buffer }): boolean {
    const key = pathToBytes(path);
    const before = this.getStmt.get(key)?.pending ?? 0;
    const after = this.write('placed', () => (this.placedStmt.get(key, v.size, v.mtimeMs, v.sha256, this.run) as { pending: number }).pending, before);
    return before === 1 && after === 0;
  }

  pendingCount(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM files WHERE pending = 1').get() as { n: number }).n;
  }

  announcedCount(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM files WHERE a_sha IS NOT NULL').get() as { n: number }).n;
  }

  /**
   * Rows matching `where`, in path order, read a page at a time (no statement stays open between
   * pages, so the caller may await and write meanwhile).
   */
  *rows(where: 'pending = 1' | 'a_sha IS NOT NULL'): Generator<IndexRow> {
    const first = this.db.prepare(`SELECT * FROM files WHERE ${where} ORDER BY path LIMIT ${PAGE}`);
    const next = this.db.prepare(`SELECT * FROM files WHERE ${where} AND path > ? ORDER BY path LIMIT ${PAGE}`);
    let page = first.all() as RawRow[];
    while (page.length > 0) {
      const last = page[page.length - 1]!.path;
      for (const r of page) yield toRow(r, this.run);
      if (page.length < PAGE) return;
      page = next.all(last) as RawRow[];
    }
  }

  /** True if the sender announces this path (one integer read: the report asks it of every file in the mirror). */
  isAnnounced(path: string): boolean {
    return this.announcedStmt.get(pathToBytes(path)) === 1;
  }

  /** What this receiver verified in place at this path, if anything. */
  verifiedOf(path: string): { size: number; mtimeMs: number; sha256: Buffer } | undefined {
    const r = this.verifiedOfStmt.get(pathToBytes(path));
    return r ? { size: r.v_size, mtimeMs: r.v_mtime, sha256: r.v_sha } : undefined;
  }

  setMeta(key: string, value: number | string): void {
    this.write('meta', () => this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value), undefined);
  }

  meta(key: string): number | string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: number | string } | undefined)?.value;
  }

  close(): void {
    this.db.close();
  }
}
