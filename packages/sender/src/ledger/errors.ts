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
