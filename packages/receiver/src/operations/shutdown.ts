import type { ReceiverCounters } from '../counters.js';
import { log } from '../log.js';
import type { WrittenReport } from './report.js';

/** One step of stopping: a step that fails (a full disk) is logged, and the next still runs. */
export async function stopStep(what: string, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    log('stop-failed', { step: what, error: e.code ?? e.message });
  }
}

/** The exit code once the last report is known: an incomplete mirror never exits 0 or 1. */
export function finalCode(code: number, report: WrittenReport | undefined, synced: boolean): number {
  if (!report) return code === 0 && synced ? 0 : 2;
  return code === 1 && !report.synced ? 2 : code;
}

/** The last line the receiver logs: why it stops, with what code, and what it counted. */
export function logExit(
  reason: string,
  code: number,
  state: { report: WrittenReport | undefined; synced: boolean; counters: ReceiverCounters; framesLost: number; partial: number },
): void {
  const { report, counters: c } = state;
  const dropped = Object.values(c.framing).reduce((a, b) => a + b, 0);
  log('exit', {
    reason, code, synced: report?.synced ?? state.synced, missing: report?.missing, outdated: report?.outdated,
    files: c.filesCompleted, frames: c.framesReceived, framesLost: state.framesLost, badFrames: dropped,
    verifyFailed: c.verifyFailed, authFailed: Object.values(c.auth).reduce((a, b) => a + b, 0),
    refused: Object.values(c.limits).reduce((a, b) => a + b, 0), badPath: c.badPath, staleSession: c.staleSession, queueOverflow: c.queueOverflow, partial: state.partial,
    fecRepairedChunks: c.fecRepairedChunks, fecBlocksRepaired: c.fecBlocksRepaired, fecRepairFailed: c.fecRepairFailed,
    writeErrors: c.writeErrors, report: report?.path ?? 'not written',
  });
}
