import { pathToBytes } from '@diodesync/protocol';
import type { ListedFile, ManifestSource } from './framing/manifest.js';
import type { Version } from './ledger/version.js';

/**
 * The manifest's source over the versions the sender holds in memory: the versions ever sent with
 * a hash, sorted in wire byte order of path. Sorted again at the next read after a change
 * (`changed()`), not at every piece.
 */
export class VersionsManifestSource implements ManifestSource {
  private sorted: { key: Buffer; file: ListedFile }[] | undefined;
  private sortedDirs: { of: readonly string[]; dirs: string[] } | undefined;

  constructor(private readonly versions: () => Iterable<Version>, private readonly treeDirs: () => readonly string[]) {}

  /** The versions changed (a rescan, a send): sort again at the next read. */
  changed(): void {
    this.sorted = undefined;
  }

  listedFiles(after: string | undefined, limit: number): ListedFile[] {
    const sorted = (this.sorted ??= this.sort());
    let lo = 0;
    if (after !== undefined) {
      const bound = pathToBytes(after);
      let hi = sorted.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (Buffer.compare(sorted[mid]!.key, bound) <= 0) lo = mid + 1;
        else hi = mid;
      }
    }
    return sorted.slice(lo, lo + limit).map((e) => e.file);
  }

  dirs(): readonly string[] {
    const of = this.treeDirs();
    if (this.sortedDirs?.of !== of) {
      const keyed = of.map((d) => ({ key: pathToBytes(d), d })).sort((a, b) => Buffer.compare(a.key, b.key));
      this.sortedDirs = { of, dirs: keyed.map((e) => e.d) };
    }
    return this.sortedDirs.dirs;
  }

  private sort(): { key: Buffer; file: ListedFile }[] {
    const out: { key: Buffer; file: ListedFile }[] = [];
    for (const v of this.versions()) {
      if (!v.everSent || v.sha256 === undefined) continue;
      const f = v.file;
      out.push({ key: pathToBytes(f.relPath), file: { relPath: f.relPath, size: f.size, mtimeMs: f.mtimeMs, sha256: v.sha256 } });
    }
    return out.sort((a, b) => Buffer.compare(a.key, b.key));
  }
}
