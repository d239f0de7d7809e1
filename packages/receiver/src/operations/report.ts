import { rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { writeJsonAtomic } from './json-file.js';
import type { ReceiverReport, Streamed } from '@diodesync/protocol';

export const REPORT_FILE = 'report.json';
/** Space held on the state's file system for the last report: a full disk must not keep the receiver from saying what it lacks. */
const RESERVE_FILE = 'report.reserve';
const RESERVE_BYTES = 8 * 1024 * 1024;

/** report.json as it is drawn: its long lists (missing, outdated, unexpected) read from the index and the mirror as they are written. */
export type ReportDraft = Streamed<ReceiverReport>;

/** What the written report said, for the exit line and code. */
export interface WrittenReport {
  path: string;
  synced: boolean;
  missing: number;
  outdated: number;
}

/** Takes the reserve (bytes that are not zeros: a file system may store zeros as a hole). Best effort. */
export async function reserveReportSpace(stateDir: string): Promise<void> {
  await writeFile(path.join(stateDir, RESERVE_FILE), Buffer.alloc(RESERVE_BYTES, 0xa5)).catch(() => undefined);
}

/**
 * Writes `<state>/report.json` atomically: a reader never sees half a report. The last report
 * (`final`) may give up the reserve when the disk is full, and is then drawn again.
 */
export async function writeReport(stateDir: string, draw: () => Promise<ReportDraft>, final = false): Promise<WrittenReport> {
  const target = path.join(stateDir, REPORT_FILE);
  const write = async (): Promise<WrittenReport> => {
    const draft = await draw();
    const counts = await writeJsonAtomic(target, draft);
    const count = (key: 'missing' | 'outdated') => counts[key] ?? (draft[key] as unknown[]).length;
    return { path: target, synced: draft.synced, missing: count('missing'), outdated: count('outdated') };
  };
  try {
    return await write();
  } catch (err) {
    if (!final || (err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    await rm(path.join(stateDir, RESERVE_FILE), { force: true });
    return write();
  }
}
