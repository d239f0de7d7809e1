import { rename, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { SyncReport } from './sync-tracker.js';

export const REPORT_FILE = 'report.json';

/** Writes `<state>/report.json` atomically: a reader never sees half a report. */
let writes = 0;

export async function writeReport(stateDir: string, report: SyncReport): Promise<string> {
  const target = path.join(stateDir, REPORT_FILE);
  const temp = `${target}.${process.pid}.${++writes}.tmp`;
  await writeFile(temp, JSON.stringify(report, null, 2) + '\n');
  await rename(temp, target);
  return target;
}
