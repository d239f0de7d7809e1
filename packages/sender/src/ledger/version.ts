import type { ObjectIds } from '../inventory/object-ids.js';
import type { SourceFile } from '../inventory/scan.js';
import type { Ledger, LedgerVersion } from './store.js';

/** One content version of one path, and how often it has gone out (as the ledger says). */
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
 * The versions of a scan: each file with its ledger row (from Ledger.sync) and its object id.
 * Input: the files in path order; output: their versions by path, in the same order.
 */
export function versionsOf(files: readonly SourceFile[], rows: ReadonlyMap<string, LedgerVersion>, objectIds: ObjectIds): Map<string, Version> {
  const current = files.map((f) => rows.get(f.relPath)!);
  const ids = objectIds.assign(current.map((row) => row.id));
  return new Map(files.map((file, i) => {
    const row = current[i]!;
    const version: Version = {
      file, id: row.id, sha256: row.sha256 ?? undefined, objectId: ids[i]!, sendsDone: row.sends,
      everSent: row.totalSends > 0, lastSentAt: row.lastSentAt ?? 0,
    };
    return [file.relPath, version];
  }));
}

/** A renamed file: the new path's version takes over the old one's hash and sends, in the ledger and here. */
export function adoptSends(ledger: Ledger, to: Version, from: Version, redundancy: number): void {
  ledger.adoptSends(to.id, from.id, redundancy);
  Object.assign(to, { sha256: from.sha256, sendsDone: from.sendsDone, everSent: true, lastSentAt: from.lastSentAt });
}
