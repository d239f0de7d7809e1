import type { SyncReport } from '@diodesync/protocol';
import type { SyncTracker } from './sync-tracker.js';

/** The tracker's report with its lists drawn whole: what report.json would hold. */
export async function reportOf(sync: SyncTracker): Promise<SyncReport> {
  const draft = await sync.report();
  const all = async <T>(list: T[] | AsyncIterable<T>): Promise<T[]> => {
    const out: T[] = [];
    for await (const e of list) out.push(e);
    return out;
  };
  return { ...draft, missing: await all(draft.missing), outdated: await all(draft.outdated), unexpected: await all(draft.unexpected) };
}
