import { FrameType, encodeChange, printablePath, type Change } from '@diodesync/protocol';
import type { Schedule } from '../ledger/schedule.js';
import { log } from '../log.js';
import type { FrameEmitter } from './frame-emitter.js';

/** A delete or rename announced R times, like a file version. */
interface PendingChange {
  change: Change;
  sends: number;
  lastSentAt: number;
}

/**
 * Deletes and renames on their way out. Input: the changes the inventory detected; output:
 * a Change frame per change and cycle, spaced like passes, until each went R times.
 */
export class ChangeAnnouncer {
  /** Announcements still to send. */
  pending: PendingChange[] = [];

  constructor(
    private readonly emitter: FrameEmitter,
    private readonly schedule: Schedule,
    private readonly counts: { changesAnnounced: number },
  ) {}

  add(change: Change): void {
    this.pending.push({ change, sends: 0, lastSentAt: 0 });
    log(change.op === 'rename' ? 'rename-detected' : 'delete-detected', { path: printablePath(change.path), to: change.to ? printablePath(change.to) : undefined });
  }

  /** Each pending delete or rename goes once per cycle (spaced like passes) until it went R times. */
  async sendDue(now: number, signal: AbortSignal): Promise<number> {
    let sent = 0;
    for (const c of this.pending) {
      if (signal.aborted) break;
      if (!this.schedule.dueNow(c.sends, c.lastSentAt, now)) continue;
      await this.emitter.emit({ type: FrameType.Change, pass: c.sends + 1 }, encodeChange(c.change));
      c.sends++;
      c.lastSentAt = Date.now();
      this.counts.changesAnnounced++;
      sent++;
    }
    this.pending = this.pending.filter((c) => c.sends < this.schedule.redundancy);
    return sent;
  }
}
