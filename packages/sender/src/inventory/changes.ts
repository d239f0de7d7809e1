import type { Change } from '@diodesync/protocol';
import type { SourceFile } from './scan.js';

/** What change detection needs to know of a path's version. */
export interface KnownVersion {
  file: SourceFile;
  /** Sent at least once, ever: the receiver may hold it. */
  everSent: boolean;
  sha256: Buffer | undefined;
}

/** A path that left the tree: deleted, or renamed to `to`, which takes over `from`'s sends. */
export interface TreeChange<V> {
  change: Change;
  from: V;
  to?: V;
}

/**
 * Paths that left the tree since the last scan become delete announcements; one whose file
 * reappears under a new path (same inode, size and mtime) becomes a rename, and the new path
 * inherits its send history instead of being sent again. Only paths ever sent count: the
 * receiver holds no other. Input: the versions by path before and after a scan; output: the
 * changes, in the order of `before`.
 */
export function detectChanges<V extends KnownVersion>(before: ReadonlyMap<string, V>, after: ReadonlyMap<string, V>): TreeChange<V>[] {
  const fresh = new Map<number, V>();
  for (const v of after.values()) if (!v.everSent && !before.has(v.file.relPath)) fresh.set(v.file.ino, v);
  const changes: TreeChange<V>[] = [];
  for (const [path, old] of before) {
    if (after.has(path) || !old.everSent || !old.sha256) continue;
    const moved = fresh.get(old.file.ino);
    if (moved && moved.file.size === old.file.size && moved.file.mtimeMs === old.file.mtimeMs) {
      fresh.delete(old.file.ino);
      changes.push({ change: { op: 'rename', path, to: moved.file.relPath, sha256: old.sha256 }, from: old, to: moved });
    } else {
      changes.push({ change: { op: 'delete', path, to: '', sha256: old.sha256 }, from: old });
    }
  }
  return changes;
}
