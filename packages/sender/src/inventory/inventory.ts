import type { TreeFilter } from './tree-filter.js';

/** The options that decide what of the tree is sent, and when it is looked at. */
export interface InventoryOptions {
  source: string;
  /** Which paths are mirrored (--include, --exclude, temporary names). */
  filter: TreeFilter;
  /** A file is sent once its size and mtime have not changed for this long. */
  settleMs: number;
  /** --delete: announce files gone from the tree (R times), and renames instead of resends. */
  announceChanges: boolean;
  /** Watch mode: no file-system events (SMB/NFS shares): a paced walk of the tree this often. */
  pollMs?: number;
}
