import { walkTree, type SkippedEntry, type SourceFile } from './walk.js';
import { treeFilter, type TreeFilter } from './tree-filter.js';

export type { SkippedEntry, SourceFile } from './walk.js';

export interface TreeSnapshot {
  files: SourceFile[];
  dirs: string[];
  /** Entries left out and why (symlinks, special files, unreadable entries, excluded names). */
  skipped: SkippedEntry[];
}

/**
 * The whole tree in arrays, in wire byte order of paths: a library call for small trees (the
 * sender streams the walk into the ledger, see tree-sync.ts, and --dry-run streams it too; neither
 * holds the tree).
 */
export async function scanTree(root: string, filter: TreeFilter = treeFilter()): Promise<TreeSnapshot> {
  const snapshot: TreeSnapshot = { files: [], dirs: [], skipped: [] };
  for await (const e of walkTree(root, filter)) {
    if (e.kind === 'file') snapshot.files.push(e.file);
    else if (e.kind === 'dir') snapshot.dirs.push(e.relPath);
    else snapshot.skipped.push(e.entry);
  }
  return snapshot;
}
