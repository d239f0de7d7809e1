import type { Change } from '@diodesync/protocol';
import type { ReceiverCounters } from '../counters.js';
import { log } from '../log.js';
import type { ChangeApplier } from './change-applier.js';
import type { Placement } from './placement.js';
import type { SyncTracker } from './sync-tracker.js';

export interface ChangeHooks {
  /** Resolves once the placements already under way are done: a delete must not overtake them. */
  settled(): Promise<void>;
  /** A file left the mirror under this path: its data is accepted again. */
  forget(path: string): void;
}

/**
 * Deletes and renames from the sender. Input: decoded announcements, in arrival order.
 * Output: the mirror changed through the ChangeApplier (deleted files to quarantine), one
 * announcement at a time, each after the placements already under way; counted and logged.
 */
export class ChangeQueue {
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly applier: ChangeApplier,
    private readonly counters: ReceiverCounters,
    private readonly placement: Placement,
    private readonly sync: SyncTracker,
    private readonly hooks: ChangeHooks,
  ) {}

  /** Deletes and renames run in arrival order, after the placements already under way. */
  push(change: Change): void {
    this.tail = this.tail.then(async () => {
      await this.hooks.settled();
      const outcome = await this.applier.apply(change).catch((err: Error) => {
        log('change-failed', { op: change.op, path: change.path, error: err.message });
        return 'failed' as const;
      });
      if (outcome === 'repeat') return;
      this.counters.changes[outcome]++;
      log(`change-${outcome}`, { op: change.op, path: change.path, to: change.to || undefined });
      if (outcome === 'deleted' || outcome === 'renamed') this.hooks.forget(change.path);
      if (outcome === 'deleted') this.placement.filesInMirror--;
      if (outcome === 'renamed' || outcome === 'copied') this.sync.placedByChange(change.to);
    });
  }
}
