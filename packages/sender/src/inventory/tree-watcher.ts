import { watch, type FSWatcher } from 'chokidar';

/**
 * Wakes the scheduler when the tree changes. Events only shorten the wait before the next
 * rescan, which stays the source of truth, so a missed or duplicated event costs nothing.
 * On network shares (SMB/NFS) events never arrive: `pollMs` makes chokidar poll instead.
 */
export class TreeWatcher {
  private readonly watcher: FSWatcher;

  constructor(root: string, pollMs: number | undefined, onChange: () => void) {
    this.watcher = watch(root, {
      ignoreInitial: true,
      persistent: false,
      usePolling: pollMs !== undefined,
      interval: pollMs,
      binaryInterval: pollMs,
      followSymlinks: false,
    });
    // A burst of events (a copy of many files) wakes the scheduler once.
    let pending: NodeJS.Timeout | undefined;
    this.watcher.on('all', () => {
      pending ??= setTimeout(() => {
        pending = undefined;
        onChange();
      }, 250);
    });
    this.watcher.on('error', () => undefined); // the periodic rescan still catches what we miss
  }

  close(): Promise<void> {
    return this.watcher.close();
  }
}
