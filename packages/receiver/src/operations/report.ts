import { rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { writeJsonAtomic } from './json-file.js';
import type { ReceiverReport } from '@diodesync/protocol';

export const REPORT_FILE = 'report.json';
/** Space held on the state's file system for the last report: a full disk must not keep the receiver from saying what it lacks. */
const RESERVE_FILE = 'report.reserve';
const RESERVE_BYTES = 8 * 1024 * 1024;

/** Takes the reserve (bytes that are not zeros: a file system may store zeros as a hole). Best effort. */
export async function reserveReportSpace(stateDir: string): Promise<void> {
  await writeFile(path.join(stateDir, RESERVE_FILE), Buffer.alloc(RESERVE_BYTES, 0xa5)).catch(() => undefined);
}

/**
 * Writes `<state>/report.json` atomically: a reader never sees half a report. The last report
 * (`final`) may give up the reserve when the disk is full.
 */
export async function writeReport(stateDir: string, report: ReceiverReport, final = false): Promise<string> {
  const target = path.join(stateDir, REPORT_FILE);
  try {
    await writeJsonAtomic(target, report);
  } catch (err) {
    if (!final || (err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    await rm(path.join(stateDir, RESERVE_FILE), { force: true });
    await writeJsonAtomic(target, report);
  }
  return target;
}
