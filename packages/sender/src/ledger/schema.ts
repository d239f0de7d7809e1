import { closeSync, existsSync, mkdirSync, openSync, readSync, renameSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { LedgerError, damagedLedger, isSqliteError } from './errors.js';

/** The ledger file: created whole, checked before use, migrated forward. Input: a path; output: an open database. */

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
  // 2: the sender streams the tree into the ledger and asks it what is due, instead of holding
  // every version in memory. Paths are TEXT (valid UTF-8) or BLOB (raw bytes): CAST(path AS BLOB)
  // is their wire bytes either way, so this index walks current rows in the walk's byte order.
  `CREATE INDEX versions_path_bytes ON versions(CAST(path AS BLOB)) WHERE status <> 'superseded';
   -- A vanished path's file under a new name (same inode): a rename.
   CREATE INDEX versions_ino ON versions(ino) WHERE status <> 'superseded';
   -- Versions still owed sends: what is due, how much is queued, when the next is due.
   CREATE INDEX versions_unsent ON versions(sends, last_sent_at) WHERE status IN ('pending', 'partial', 'reset');`,
];
export const SCHEMA_VERSION = MIGRATIONS.length;
const TABLES = ['meta', 'resets', 'sessions', 'versions'];

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * Opens a ledger file. A missing file is created only if `create` (the sender); an existing file
 * that is not an intact ledger of ours is refused, never replaced: a silent fresh start
 * would resend the whole share.
 */
export function openDatabase(file: string, { create, durable = false }: { create: boolean; durable?: boolean }): Database.Database {
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
    return db;
  } catch (err) {
    db?.close();
    if (err instanceof LedgerError) throw err;
    if (isSqliteError(err)) throw damagedLedger(file, err.message);
    throw err;
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
