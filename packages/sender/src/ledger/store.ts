import { closeSync, existsSync, mkdirSync, openSync, readSync, renameSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { hasEscapedBytes, pathFromBytes, pathToBytes } from '@diodesync/protocol';
import type { SourceFile } from '../inventory/scan.js';

/**
 * The recovery ledger: on a one-way link it is the sender's only memory of what it sent, when
 * and how often. One SQLite file in WAL mode; every write is one short transaction per batch
 * of file sends, per rescan or per reset, so a kill -9 at any moment leaves it consistent.
 */

export const LEDGER_FILE = 'ledger.sqlite';
/** 'DSLG' in the SQLite header: tells our ledger from any other SQLite file. */
const APPLICATION_ID = 0x44534c47;

/**
 * Schema migrations: entry i takes the schema from version i to i + 1. Append, never edit:
 * a ledger in the field may be at any earlier version.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE versions (
     id            INTEGER PRIMARY KEY,
     path          TEXT    NOT NULL,
     size          INTEGER NOT NULL,
     mtime_ms      REAL    NOT NULL,
     ino           INTEGER NOT NULL,
     mode          INTEGER NOT NULL,
     sha256        BLOB,
     first_seen    INTEGER NOT NULL,
     sends         INTEGER NOT NULL DEFAULT 0,  -- passes that count towards R (a reset sets 0)
     total_sends   INTEGER NOT NULL DEFAULT 0,  -- every completed send, ever
     first_sent_at INTEGER,
     last_sent_at  INTEGER,
     status        TEXT    NOT NULL
   );
   -- At most one current (not superseded) version per path.
   CREATE UNIQUE INDEX versions_current ON versions(path) WHERE status <> 'superseded';
   CREATE INDEX versions_last_sent ON versions(last_sent_at);
   CREATE TABLE sessions (
     id         INTEGER PRIMARY KEY,
     started_at INTEGER NOT NULL,
     ended_at   INTEGER,
     settings   TEXT    NOT NULL
   );
   CREATE TABLE resets (
     id       INTEGER PRIMARY KEY,
     at       INTEGER NOT NULL,
     criteria TEXT    NOT NULL,
     files    INTEGER NOT NULL
   );
   CREATE TRIGGER resets_append_only_update BEFORE UPDATE ON resets BEGIN SELECT RAISE(ABORT, 'the reset log is append-only'); END;
   CREATE TRIGGER resets_append_only_delete BEFORE DELETE ON resets BEGIN SELECT RAISE(ABORT, 'the reset log is append-only'); END;`,
];
export const SCHEMA_VERSION = MIGRATIONS.length;
const TABLES = ['meta', 'resets', 'sessions', 'versions'];

export const STATUSES = ['pending', 'partial', 'sent', 'reset', 'failed', 'superseded', 'gone'] as const;
/**
 * pending: to be sent (never sent, or the sender started without --resume); partial: sent fewer
 * than R times; sent: sent R times; reset: an operator asked for it again; failed: unreadable;
 * superseded: a newer version of the path exists; gone: the path left the source tree.
 */
export type VersionStatus = (typeof STATUSES)[number];

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

/** The ledger cannot be used as it is; the message says why and how to rebuild it. */
export class LedgerError extends Error {
  override name = 'LedgerError';
}

export function damagedLedger(file: string, reason: string): LedgerError {
  return new LedgerError(
    `ledger ${file} is unusable (${reason}). To rebuild it, move it aside with its -wal and -shm files ` +
      `(for f in ${file}*; do mv "$f" "$f.damaged"; done) and start diode-send without -c: a new ledger is created and every file is sent again`,
  );
}

/** SQLite errors carry a code such as SQLITE_CORRUPT or SQLITE_NOTADB. */
export function isSqliteError(err: unknown): err is Error & { code: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && code.startsWith('SQLITE_');
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

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

const statusAfterSends = (sends: number, redundancy: number): VersionStatus =>
  sends >= redundancy ? 'sent' : sends > 0 ? 'partial' : 'pending';

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

  /**
   * Opens a ledger. A missing file is created only if `create` (the sender); an existing file
   * that is not an intact ledger of ours is refused, never replaced: a silent fresh start
   * would resend the whole share.
   */
  static open(file: string, { create, durable = false }: { create: boolean; durable?: boolean }): Ledger {
    if (!existsSync(file)) {
      if (!create) throw new LedgerError(`no ledger at ${file} (diode-send creates it on its first run; see --ledger and --state)`);
      createLedger(file);
    }
    checkHeader(file);
    let db: Database.Database | undefined;
    try {
      db = new Database(file, { fileMustExist: true, timeout: 10_000 });
      checkSchema(db, file); // before anything writes: a file that is not ours stays as it was
      db.pragma('journal_mode = WAL');
      // NORMAL in WAL mode survives a killed process; the operator's resets also survive power loss.
      db.pragma(`synchronous = ${durable ? 'FULL' : 'NORMAL'}`);
      migrate(db);
      return new Ledger(db, file);
    } catch (err) {
      db?.close();
      if (err instanceof LedgerError) throw err;
      if (isSqliteError(err)) throw damagedLedger(file, err.message);
      throw err;
    }
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
      const revive = this.sql('UPDATE versions SET status = ? WHERE id = ?');
      const insert = this.sql(
        `INSERT INTO versions (path, size, mtime_ms, ino, mode, first_seen, status) VALUES (?, ?, ?, ?, ?, ?, 'pending') RETURNING ${COLUMNS}`,
      );
      const markGone = this.sql("UPDATE versions SET status = 'gone' WHERE id = ?");
      const result = new Map<string, LedgerVersion>();
      for (const f of files) {
        let v = current.get(f.relPath);
        if (v && sameIdentity(v, f)) {
          if (v.status === 'gone') {
            v = { ...v, status: statusAfterSends(v.sends, redundancy) };
            revive.run(v.status, v.id);
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
    const update = this.sql(
      `UPDATE versions SET sends = sends + 1, total_sends = total_sends + 1, sha256 = coalesce(@sha256, sha256),
         first_sent_at = coalesce(first_sent_at, @at), last_sent_at = @at,
         status = CASE WHEN status IN ('superseded', 'gone') THEN status WHEN sends + 1 >= @r THEN 'sent' ELSE 'partial' END
       WHERE id = @id RETURNING sends, total_sends`,
    );
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
    this.sql(`UPDATE versions SET status = CASE WHEN sends >= @r THEN 'sent' WHEN sends > 0 THEN 'partial' ELSE 'pending' END WHERE id = @id`)
      .run({ id, r: redundancy });
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

/** Builds the schema in a temp file, then renames it in: an existing ledger file is always complete. */
function createLedger(file: string): void {
  // SQLite would replay a write-ahead log left by a ledger moved away into the new one.
  for (const leftover of [`${file}-wal`, `${file}-shm`]) {
    if (existsSync(leftover)) throw new LedgerError(`found ${leftover} but no ledger ${file}: move ${file}-wal and ${file}-shm aside as well, or put the ledger back`);
  }
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.creating`;
  rmSync(temp, { force: true });
  const db = new Database(temp);
  try {
    db.pragma(`application_id = ${APPLICATION_ID}`);
    migrate(db);
  } finally {
    db.close();
  }
  renameSync(temp, file);
}

function checkHeader(file: string): void {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(SQLITE_MAGIC.length);
    const n = readSync(fd, head, 0, head.length, 0);
    if (n === 0) throw damagedLedger(file, 'the file is empty: truncated');
    if (n < head.length || !head.equals(SQLITE_MAGIC)) throw damagedLedger(file, 'not an SQLite database');
  } finally {
    closeSync(fd);
  }
}

function checkSchema(db: Database.Database, file: string): void {
  if (db.pragma('application_id', { simple: true }) !== APPLICATION_ID) throw damagedLedger(file, 'an SQLite database, but not a diodesync ledger');
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new LedgerError(`ledger ${file} has schema version ${version}, newer than this diode-send knows (${SCHEMA_VERSION}): use a newer diode-send`);
  }
  const check = db.pragma('quick_check', { simple: true });
  if (check !== 'ok') throw damagedLedger(file, `corrupt: ${String(check)}`);
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
  if (version === SCHEMA_VERSION && TABLES.some((t) => !tables.includes(t))) throw damagedLedger(file, `wrong schema: tables ${tables.join(', ') || '(none)'}`);
}

function migrate(db: Database.Database): void {
  for (let v = db.pragma('user_version', { simple: true }) as number; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}
