import type Database from 'better-sqlite3';
import { hasEscapedBytes, pathFromBytes, pathToBytes } from '@diodesync/protocol';
import type { SourceFile } from '../inventory/scan.js';
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

  /** Current (not superseded) versions by path. */
  current(): Map<string, LedgerVersion> {
    const rows = this.sql(`SELECT ${COLUMNS} FROM versions WHERE status <> 'superseded'`).all() as LedgerVersion[];
    return new Map(rows.map((r) => [fromRow(r).path, r]));
  }

  /**
   * Brings the ledger in line with a scan, in one transaction: unchanged files keep their
   * version (and hash), changed ones get a new version, vanished ones are marked gone.
   * Returns the current version of every scanned file.
   */
  sync(files: readonly SourceFile[], redundancy: number, now = Date.now()): Map<string, LedgerVersion> {
    return this.db.transaction(() => {
      const current = this.current();
      const supersede = this.sql("UPDATE versions SET status = 'superseded' WHERE id = ?");
      const revive = this.sql(`UPDATE versions SET status = ${statusAfterSends('sends')} WHERE id = @id RETURNING status`);
      const insert = this.sql(
        `INSERT INTO versions (path, size, mtime_ms, ino, mode, first_seen, status) VALUES (?, ?, ?, ?, ?, ?, 'pending') RETURNING ${COLUMNS}`,
      );
      const markGone = this.sql("UPDATE versions SET status = 'gone' WHERE id = ?");
      const result = new Map<string, LedgerVersion>();
      for (const f of files) {
        let v = current.get(f.relPath);
        if (v && sameIdentity(v, f)) {
          if (v.status === 'gone') {
            const { status } = revive.get({ id: v.id, r: redundancy }) as { status: VersionStatus };
            v = { ...v, status };
          }
        } else {
          if (v) supersede.run(v.id);
          v = fromRow(insert.get(pathToDb(f.relPath), f.size, f.mtimeMs, f.ino, f.mode, now) as LedgerVersion);
        }
        result.set(f.relPath, v);
      }
      for (const v of current.values()) if (!result.has(v.path) && v.status !== 'gone') markGone.run(v.id);
      return result;
    }).immediate();
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
