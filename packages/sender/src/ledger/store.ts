import type Database from 'better-sqlite3';
import { hasEscapedBytes, pathFromBytes, pathToBytes } from '@diodesync/protocol';
import type { SourceFile } from '../inventory/scan.js';
import type { KeyRange } from '../inventory/walk.js';
import { LedgerError } from './errors.js';
import { openDatabase } from './schema.js';
import { statusAfterSends, type VersionStatus } from './status.js';

/**
 * The recovery ledger: on a one-way link it is the sender's only memory of what it sent, when
 * and how often. One SQLite file in WAL mode; every write is one short transaction per batch
 * of file sends, per rescan or per reset, so a kill -9 at any moment leaves it consistent.
 */

export interface LedgerVersion {
  id: number;
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
  mode: number;
  sha256: Buffer | null;
  firstSeen: number;
  sends: number;
  totalSends: number;
  firstSentAt: number | null;
  lastSentAt: number | null;
  status: VersionStatus;
}

export interface LedgerStats {
  file: string;
  schemaVersion: number;
  source: string | null;
  byStatus: Record<string, { versions: number; bytes: number }>;
  sessions: number;
  lastSession: { startedAt: number; endedAt: number | null } | null;
  resets: number;
  lastReset: { at: number; files: number; criteria: unknown } | null;
}

/** One completed send; superseded and gone versions keep their status. */
const RECORD_SEND = `UPDATE versions SET sends = sends + 1, total_sends = total_sends + 1, sha256 = coalesce(@sha256, sha256),
    first_sent_at = coalesce(first_sent_at, @at), last_sent_at = @at,
    status = CASE WHEN status IN ('superseded', 'gone') THEN status ELSE ${statusAfterSends('sends + 1')} END
  WHERE id = @id RETURNING sends, total_sends`;

/** Selected straight into LedgerVersion's shape: no second object per row on every rescan. */
const COLUMNS = `id, path, size, mtime_ms AS mtimeMs, ino, mode, sha256, first_seen AS firstSeen, sends,
  total_sends AS totalSends, first_sent_at AS firstSentAt, last_sent_at AS lastSentAt, status`;

/** Same path, size, mtime, inode and mode: the same version, whose recorded hash still holds. */
const sameIdentity = (v: LedgerVersion, f: SourceFile) =>
  v.size === f.size && v.mtimeMs === f.mtimeMs && v.ino === f.ino && v.mode === f.mode;

/**
 * A path as stored: TEXT where it is valid UTF-8, its raw bytes (a BLOB) where not, since SQLite
 * would store an escaped name's lone surrogates as U+FFFD. Rows are read back through fromRow.
 */
const pathToDb = (p: string): string | Buffer => (hasEscapedBytes(p) ? pathToBytes(p) : p);
function fromRow(row: LedgerVersion): LedgerVersion {
  const stored = row.path as string | Buffer;
  if (typeof stored !== 'string') row.path = pathFromBytes(stored);
  return row;
}

/** A file the walk saw; `held`: still being written, it keeps the version it has. */
export interface SeenFile {
  file: SourceFile;
  held?: boolean;
}

/** Rows of a range read a page at a time; never one the merge has passed (a row it just inserted). */
class RangeRows {
  private static readonly PAGE = 2000;
  private page: (LedgerVersion & { k: Buffer })[] = [];
  private at = 0;
  private after: Buffer | undefined;
  private done = false;

  constructor(private readonly ledger: Ledger, private readonly range: KeyRange) {}

  peek(): (LedgerVersion & { k: Buffer }) | undefined {
    if (this.at >= this.page.length && !this.done) {
      this.page = this.ledger.rangePage(this.range, this.after, RangeRows.PAGE);
      this.at = 0;
      this.done = this.page.length < RangeRows.PAGE;
    }
    return this.page[this.at];
  }

  take(passedKey?: Buffer): LedgerVersion & { k: Buffer } {
    const row = this.page[this.at++]!;
    this.passed(row.k);
    if (passedKey) this.passed(passedKey);
    return row;
  }

  /** The merge is at `key`: the next page starts after it. */
  passed(key: Buffer): void {
    if (this.after === undefined || Buffer.compare(key, this.after) > 0) this.after = key;
  }
}

export class Ledger {
  /** Prepared once: preparing per file send made the sender spend most of its time in GC. */
  private readonly statements = new Map<string, Database.Statement>();

  private constructor(private readonly db: Database.Database, readonly file: string) {}

  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  /** Opens a ledger (see openDatabase: a missing file is created only if `create`; a damaged one is refused). */
  static open(file: string, options: { create: boolean; durable?: boolean }): Ledger {
    return new Ledger(openDatabase(file, options), file);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** The source tree this ledger describes; set by the first sender. */
  get source(): string | null {
    const row = this.sql('SELECT value FROM meta WHERE key = ?').get('source') as { value: string } | undefined;
    return row?.value ?? null;
  }

  /** Binds the ledger to a source tree, or refuses one that belongs to another. */
  claimSource(source: string): void {
    const current = this.source;
    if (current === null) this.sql('INSERT INTO meta (key, value) VALUES (?, ?)').run('source', source);
    else if (current !== source) {
      throw new LedgerError(`ledger ${this.file} records the source ${current}, not ${source}: give each source tree its own --ledger (or --state)`);
    }
  }

  /**
   * Records a sender start; without resume every version is due again (R more passes). The start
   * time is later than every earlier session's, even if the clock went back: the receiver follows
   * the session that started last and drops the others as replays.
   */
  beginSession(settings: Record<string, unknown>, resume: boolean): { id: number; startedAt: number } {
    return this.db.transaction(() => {
      if (!resume) {
        // No sends left to count: 'pending' by the status rule, whatever R.
        this.sql("UPDATE versions SET sends = 0, status = CASE status WHEN 'gone' THEN 'gone' ELSE 'pending' END WHERE status <> 'superseded'").run();
      }
      const last = this.sql('SELECT max(started_at) AS at FROM sessions').get() as { at: number | null };
      const startedAt = Math.max(Date.now(), (last.at ?? 0) + 1);
      const info = this.sql('INSERT INTO sessions (started_at, settings) VALUES (?, ?)').run(startedAt, JSON.stringify({ ...settings, resume }));
      return { id: Number(info.lastInsertRowid), startedAt };
    }).immediate();
  }

  endSession(id: number): void {
    this.sql('UPDATE sessions SET ended_at = ? WHERE id = ?').run(Date.now(), id);
  }

  /** The current (not superseded) version of one path, if the ledger has one. */
  currentOf(path: string): LedgerVersion | undefined {
    const row = this.sql(`SELECT ${COLUMNS} FROM versions WHERE status <> 'superseded' AND path = ?`).get(pathToDb(path)) as LedgerVersion | undefined;
    return row && fromRow(row);
  }

  /** Current (not superseded) versions by path (tests: the whole ledger in memory). */
  current(): Map<string, LedgerVersion> {
    const rows = this.sql(`SELECT ${COLUMNS} FROM versions WHERE status <> 'superseded'`).all() as LedgerVersion[];
    return new Map(rows.map((r) => [fromRow(r).path, r]));
  }

  /**
   * Brings the ledger in line with a whole scan (tests; the sender syncs range by range, see
   * syncRange): unchanged files keep their version (and hash), changed ones get a new version,
   * vanished ones are marked gone. Returns the current version of every scanned file.
   */
  sync(files: readonly SourceFile[], redundancy: number, now = Date.now()): Map<string, LedgerVersion> {
    const sorted = [...files].sort((a, b) => Buffer.compare(pathToBytes(a.relPath), pathToBytes(b.relPath)));
    this.syncRange(sorted.map((file) => ({ file })), { from: Buffer.alloc(0), to: undefined }, redundancy, undefined, now);
    return new Map(files.map((f) => [f.relPath, this.currentOf(f.relPath)!]));
  }

  /**
   * Brings one byte range of paths in line with what the walk saw there, in one transaction: a
   * merge of the files (in wire byte order, all inside the range) with the current rows of the
   * range, read in pages by the CAST(path AS BLOB) index. An unchanged file costs no write; a
   * changed one gets a new version; a file still being written (`held`) keeps the version it has;
   * a row the walk did not see is marked gone, unless `present` says the path is there after all
   * (a file made after its directory was listed). Returns the rows that went gone now.
   */
  syncRange(seen: readonly SeenFile[], range: KeyRange, redundancy: number, present?: (relPath: string) => boolean, now = Date.now()): { vanished: LedgerVersion[]; added: number } {
    return this.db.transaction(() => {
      const supersede = this.sql("UPDATE versions SET status = 'superseded' WHERE id = ?");
      const revive = this.sql(`UPDATE versions SET status = ${statusAfterSends('sends')} WHERE id = @id`);
      const insert = this.sql('INSERT INTO versions (path, size, mtime_ms, ino, mode, first_seen, status) VALUES (?, ?, ?, ?, ?, ?, \'pending\')');
      const markGone = this.sql("UPDATE versions SET status = 'gone' WHERE id = ?");
      const rows = new RangeRows(this, range);
      const vanished: LedgerVersion[] = [];
      let added = 0;
      const vanish = (row: LedgerVersion) => {
        if (row.status === 'gone' || present?.(row.path)) return;
        markGone.run(row.id);
        vanished.push(row);
      };
      for (const { file: f, held } of seen) {
        const key = pathToBytes(f.relPath);
        let row = rows.peek();
        while (row && Buffer.compare(row.k, key) < 0) {
          vanish(rows.take());
          row = rows.peek();
        }
        const v = row && row.k.equals(key) ? rows.take(key) : undefined;
        rows.passed(key);
        if (held) continue;
        if (v && sameIdentity(v, f)) {
          if (v.status === 'gone') revive.run({ id: v.id, r: redundancy });
        } else {
          if (v) supersede.run(v.id);
          insert.run(pathToDb(f.relPath), f.size, f.mtimeMs, f.ino, f.mode, now);
          added++;
        }
      }
      for (let row = rows.peek(); row; row = rows.peek()) vanish(rows.take());
      return { vanished, added };
    }).immediate();
  }

  /** Current rows of a byte range from `after` (exclusive; undefined: the range's start), at most `limit`. */
  rangePage(range: KeyRange, after: Buffer | undefined, limit: number): (LedgerVersion & { k: Buffer })[] {
    const lower = after === undefined ? '>= @from' : '> @after';
    const upper = range.to === undefined ? '' : 'AND CAST(path AS BLOB) < @to';
    const rows = this.sql(
      `SELECT ${COLUMNS}, CAST(path AS BLOB) AS k FROM versions WHERE status <> 'superseded' AND CAST(path AS BLOB) ${lower} ${upper}
       ORDER BY CAST(path AS BLOB) LIMIT @limit`,
    ).all({ from: range.from, after, to: range.to, limit }) as (LedgerVersion & { k: Buffer })[];
    for (const r of rows) fromRow(r);
    return rows;
  }

  /** The highest version id so far: versions above it are new since. */
  maxVersionId(): number {
    return (this.sql('SELECT coalesce(max(id), 0) AS id FROM versions').get() as { id: number }).id;
  }

  /** A version never sent, newer than `sinceId`, of the same file (inode, size, mtime) under another path: a rename's target. */
  renameTarget(from: LedgerVersion, sinceId: number): { id: number; path: string } | undefined {
    const row = this.sql(
      `SELECT id, path FROM versions WHERE status <> 'superseded' AND ino = @ino AND status <> 'gone' AND id > @sinceId
         AND total_sends = 0 AND size = @size AND mtime_ms = @mtimeMs AND id <> @id ORDER BY id LIMIT 1`,
    ).get({ ino: from.ino, sinceId, size: from.size, mtimeMs: from.mtimeMs, id: from.id }) as { id: number; path: string | Buffer } | undefined;
    if (!row) return undefined;
    return { id: row.id, path: typeof row.path === 'string' ? row.path : pathFromBytes(row.path) };
  }

  /**
   * Current versions owed a send now, in path order after `after`, at most `limit` of them and
   * (past the first) `maxBytes`: `fresh` the never-sent ones (sends = 0), else the redundancy
   * passes whose last send is at least `passIntervalMs` old.
   */
  duePage(fresh: boolean, after: Buffer | undefined, limit: number, maxBytes: number, now: number, passIntervalMs: number, few = false): (LedgerVersion & { k: Buffer })[] {
    const lower = after === undefined ? '' : 'AND CAST(path AS BLOB) > @after';
    // `< @now`: not a version sent in this very pass (a pass interval of 0).
    const which = fresh ? 'sends = 0' : 'sends > 0 AND last_sent_at <= @cutoff AND last_sent_at < @now';
    // Many due: walk the path index in order, LIMIT stops it. Few (`few`: at most a page): take them
    // from the index of versions owed sends and sort them, rather than walk every current row for them.
    const index = few ? 'versions_unsent' : 'versions_path_bytes';
    const rows = this.sql(
      `SELECT ${COLUMNS}, CAST(path AS BLOB) AS k FROM versions INDEXED BY ${index}
       WHERE status <> 'superseded' AND status IN ('pending', 'partial', 'reset') AND ${which} ${lower}
       ORDER BY CAST(path AS BLOB) LIMIT @limit`,
    ).all({ after, cutoff: now - passIntervalMs, now, limit }) as (LedgerVersion & { k: Buffer })[];
    let bytes = 0;
    let n = 0;
    while (n < rows.length && (n === 0 || bytes + rows[n]!.size <= maxBytes)) bytes += rows[n++]!.size;
    rows.length = n;
    for (const r of rows) fromRow(r);
    return rows;
  }

  /** How many versions are owed a send now, and their bytes: new ones, and passes at least `passIntervalMs` after the last. */
  dueSummary(now: number, passIntervalMs: number, excluded: readonly number[] = []): { fresh: number; again: number; bytes: number } {
    const row = this.sql(
      `SELECT coalesce(sum(sends = 0), 0) AS fresh, coalesce(sum(sends > 0), 0) AS again, coalesce(sum(size), 0) AS bytes FROM versions
       WHERE status IN ('pending', 'partial', 'reset') AND (sends = 0 OR last_sent_at <= @cutoff)
         AND id NOT IN (SELECT value FROM json_each(@excluded))`,
    ).get({ cutoff: now - passIntervalMs, excluded: JSON.stringify(excluded) }) as { fresh: number; again: number; bytes: number };
    return row;
  }

  /** When the next version is owed a send (0: now), but the `excluded` ones; undefined: every version went its R times. */
  nextDueAt(passIntervalMs: number, excluded: readonly number[] = []): number | undefined {
    const row = this.sql(
      `SELECT min(CASE WHEN sends = 0 THEN 0 ELSE last_sent_at END) AS at FROM versions WHERE status IN ('pending', 'partial', 'reset')
         AND id NOT IN (SELECT value FROM json_each(@excluded))`,
    ).get({ excluded: JSON.stringify(excluded) }) as { at: number | null };
    if (row.at === null) return undefined;
    return row.at === 0 ? 0 : row.at + passIntervalMs;
  }

  /** Current versions with this status (e.g. 'failed': could not be read). */
  countStatus(status: VersionStatus): number {
    return (this.sql('SELECT count(*) AS n FROM versions WHERE status = ?').get(status) as { n: number }).n;
  }

  /**
   * At a sender's start: every current version's status by its sends and this run's R (a run
   * with a larger R owes 'sent' versions more sends), and versions unreadable last time are tried again.
   */
  settleStatuses(redundancy: number): void {
    this.sql(
      `UPDATE versions SET status = ${statusAfterSends('sends')}
       WHERE status IN ('pending', 'partial', 'sent', 'failed') AND status <> ${statusAfterSends('sends')}`,
    ).run({ r: redundancy });
  }

  /** Files for the manifest: current versions sent at least once with a hash, in wire byte order after `after`. */
  listedPage(after: Buffer | undefined, limit: number): { path: string; size: number; mtimeMs: number; sha256: Buffer }[] {
    const lower = after === undefined ? '' : 'AND CAST(path AS BLOB) > @after';
    const rows = this.sql(
      `SELECT path, size, mtime_ms AS mtimeMs, sha256 FROM versions INDEXED BY versions_path_bytes
       WHERE status <> 'superseded' AND status <> 'gone' AND total_sends > 0 AND sha256 IS NOT NULL ${lower}
       ORDER BY CAST(path AS BLOB) LIMIT @limit`,
    ).all({ after, limit }) as { path: string | Buffer; size: number; mtimeMs: number; sha256: Buffer }[];
    for (const r of rows) if (typeof r.path !== 'string') r.path = pathFromBytes(r.path);
    return rows as { path: string; size: number; mtimeMs: number; sha256: Buffer }[];
  }

  recordHash(id: number, sha256: Buffer | null): void {
    this.sql('UPDATE versions SET sha256 = ? WHERE id = ?').run(sha256, id);
  }

  markFailed(id: number): void {
    this.sql("UPDATE versions SET status = 'failed' WHERE id = ?").run(id);
  }

  /**
   * Completed sends of versions (and their hashes), in one transaction. `sends + 1` rather than a
   * value from memory: a reset made meanwhile by another process is not overwritten.
   */
  recordSends(sent: readonly { id: number; sha256: Buffer | null }[], redundancy: number, at = Date.now()): { sends: number; totalSends: number }[] {
    const update = this.sql(RECORD_SEND);
    return this.db.transaction(() =>
      sent.map(({ id, sha256 }) => {
        const row = update.get({ id, at, r: redundancy, sha256 }) as { sends: number; total_sends: number } | undefined;
        return { sends: row?.sends ?? 0, totalSends: row?.total_sends ?? 0 };
      }),
    ).immediate();
  }

  recordSend(id: number, redundancy: number, sha256: Buffer | null = null, at = Date.now()): { sends: number; totalSends: number } {
    return this.recordSends([{ id, sha256 }], redundancy, at)[0]!;
  }

  /**
   * A renamed file: the new path's version takes over the hash and send history of the old one,
   * since the receiver gets a rename instead of the content.
   */
  adoptSends(id: number, fromId: number, redundancy: number): void {
    // Read from the row itself, not from memory: sends recorded since the last rescan count too.
    this.sql(
      `UPDATE versions SET (sha256, sends, total_sends, first_sent_at, last_sent_at) =
         (SELECT sha256, sends, total_sends, first_sent_at, last_sent_at FROM versions WHERE id = @fromId)
       WHERE id = @id`,
    ).run({ id, fromId });
    this.sql(`UPDATE versions SET status = ${statusAfterSends('sends')} WHERE id = @id`).run({ id, r: redundancy });
  }

  /** Versions, oldest path first; by default the current ones. */
  list(status?: VersionStatus): LedgerVersion[] {
    const rows = status
      ? this.sql(`SELECT ${COLUMNS} FROM versions WHERE status = ? ORDER BY path, id`).all(status)
      : this.sql(`SELECT ${COLUMNS} FROM versions WHERE status <> 'superseded' ORDER BY path`).all();
    return (rows as LedgerVersion[]).map(fromRow);
  }

  stats(): LedgerStats {
    const byStatus: LedgerStats['byStatus'] = {};
    const groups = this.sql('SELECT status, count(*) AS n, coalesce(sum(size), 0) AS bytes FROM versions GROUP BY status').all() as { status: string; n: number; bytes: number }[];
    for (const g of groups) byStatus[g.status] = { versions: g.n, bytes: g.bytes };
    const sessions = this.sql('SELECT count(*) AS n FROM sessions').get() as { n: number };
    const last = this.sql('SELECT started_at, ended_at FROM sessions ORDER BY id DESC LIMIT 1').get() as { started_at: number; ended_at: number | null } | undefined;
    const resets = this.sql('SELECT count(*) AS n FROM resets').get() as { n: number };
    const lastReset = this.sql('SELECT at, files, criteria FROM resets ORDER BY id DESC LIMIT 1').get() as { at: number; files: number; criteria: string } | undefined;
    return {
      file: this.file,
      schemaVersion: this.db.pragma('user_version', { simple: true }) as number,
      source: this.source,
      byStatus,
      sessions: sessions.n,
      lastSession: last ? { startedAt: last.started_at, endedAt: last.ended_at } : null,
      resets: resets.n,
      lastReset: lastReset ? { at: lastReset.at, files: lastReset.files, criteria: JSON.parse(lastReset.criteria) } : null,
    };
  }

  /**
   * Makes the chosen current versions go again (R more passes) and logs the reset, in one
   * transaction. Only versions still in the source tree can be sent, so only those are chosen.
   */
  reset(select: (v: LedgerVersion) => boolean, criteria: Record<string, unknown>, dryRun: boolean): LedgerVersion[] {
    return this.db.transaction(() => {
      const chosen = this.list().filter((v) => v.status !== 'gone' && select(v));
      if (dryRun) return chosen;
      const reset = this.sql("UPDATE versions SET sends = 0, status = 'reset' WHERE id = ?");
      for (const v of chosen) reset.run(v.id);
      this.sql('INSERT INTO resets (at, criteria, files) VALUES (?, ?, ?)').run(Date.now(), JSON.stringify(criteria), chosen.length);
      return chosen;
    }).immediate();
  }

  /** The reset log, oldest first. */
  resets(): { at: number; criteria: unknown; files: number }[] {
    const rows = this.sql('SELECT at, criteria, files FROM resets ORDER BY id').all() as { at: number; criteria: string; files: number }[];
    return rows.map((r) => ({ at: r.at, criteria: JSON.parse(r.criteria), files: r.files }));
  }
}
