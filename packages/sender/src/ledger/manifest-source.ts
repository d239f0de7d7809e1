import { pathToBytes } from '@diodesync/protocol';
import type { Ledger } from './store.js';

export interface ListedFile {
  relPath: string;
  size: number;
  mtimeMs: number;
  sha256: Buffer;
}

/** What the manifest lists, read from where it is kept, a page at a time. */
export interface ManifestSource {
  /** Current versions ever sent (total_sends > 0) with a hash, in wire byte order of path,
   *  strictly after `after` (undefined: from the first), at most `limit` of them. */
  listedFiles(after: string | undefined, limit: number): ListedFile[];
  /** Every directory of the tree (wire byte order), as the last complete walk saw them. */
  dirs(): readonly string[];
}

/**
 * The manifest's files from the ledger (the CAST(path AS BLOB) index gives the wire byte order),
 * its directories from the tree sync's list in memory (bounded by directories, not files).
 */
export class LedgerManifestSource implements ManifestSource {
  constructor(
    private readonly ledger: Ledger,
    private readonly treeDirs: () => readonly string[],
  ) {}

  listedFiles(after: string | undefined, limit: number): ListedFile[] {
    return this.ledger
      .listedPage(after === undefined ? undefined : pathToBytes(after), limit)
      .map((r) => ({ relPath: r.path, size: r.size, mtimeMs: r.mtimeMs, sha256: r.sha256 }));
  }

  dirs(): readonly string[] {
    return this.treeDirs();
  }
}
