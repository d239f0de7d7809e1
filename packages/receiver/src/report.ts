import { writeJsonAtomic } from './json-file.js';
import * as path from 'node:path';
import type { SyncReport } from './sync-tracker.js';

export const REPORT_FILE = 'report.json';

/** The sync report plus what the assembler knows: objects still partial, and those given up. */
export interface ReceiverReport extends SyncReport {
  partial: { path: string; chunks: number; of: number; idleSeconds: number }[];
  expired: { path: string; at: string; chunks: number; of: number }[];
}

/** Writes `<state>/report.json` atomically: a reader never sees half a report. */
export async function writeReport(stateDir: string, report: ReceiverReport): Promise<string> {
  const target = path.join(stateDir, REPORT_FILE);
  await writeJsonAtomic(target, report);
  return target;
}
