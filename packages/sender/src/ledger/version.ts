import { lstatSync } from 'node:fs';
import * as path from 'node:path';
import { fsPath } from '@diodesync/protocol';
import { objectIdOfVersion } from '../inventory/object-ids.js';
import type { SourceFile } from '../inventory/scan.js';
import { sourceFileOf } from '../inventory/walk.js';
import type { LedgerVersion } from './store.js';

/** One content version of one path while it is being sent, and how often it has gone out (as the ledger says). */
export interface Version {
  file: SourceFile;
  /** Ledger row of this version. */
  id: number;
  sha256: Buffer | undefined;
  objectId: number;
  /** Sends that count towards R. */
  sendsDone: number;
  /** Sent at least once, ever: the receiver may hold it, so it belongs in the manifest. */
  everSent: boolean;
  lastSentAt: number;
}

/**
 * The version of a due ledger row, about to be sent: the file as it is now (a fresh lstat gives
 * the absolute path and the mtime to the nanosecond), or 'changed' if it is no longer the file
 * the row describes (gone, or another size, mtime, inode or mode: the next look at it makes a new version).
 */
export function versionOfRow(row: LedgerVersion, source: string): Version | 'changed' {
  const absPath = path.join(source, row.path);
  let st;
  try {
    st = lstatSync(fsPath(absPath), { bigint: true, throwIfNoEntry: false });
  } catch {
    return 'changed';
  }
  if (!st?.isFile()) return 'changed';
  const file = sourceFileOf(row.path, absPath, st);
  if (file.size !== row.size || file.mtimeMs !== row.mtimeMs || file.ino !== row.ino || file.mode !== row.mode) return 'changed';
  return versionOf(row, file);
}

/** A ledger row with its file, as the sender sends it. */
export function versionOf(row: LedgerVersion, file: SourceFile): Version {
  return {
    file, id: row.id, sha256: row.sha256 ?? undefined, objectId: objectIdOfVersion(row.id), sendsDone: row.sends,
    everSent: row.totalSends > 0, lastSentAt: row.lastSentAt ?? 0,
  };
}
