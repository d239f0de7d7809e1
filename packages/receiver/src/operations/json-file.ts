import { readdir, rename, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';

let writes = 0;
const TEMP_SUFFIX = /\.json\.\d+\.\d+\.tmp$/;

/**
 * Writes JSON through a uniquely named temp file and a rename: readers never see half a file.
 * A temp file that could not be written or renamed (a full disk) is removed, not left behind.
 */
export async function writeJsonAtomic(target: string, value: unknown): Promise<void> {
  const temp = `${target}.${process.pid}.${++writes}.tmp`;
  try {
    await writeFile(temp, JSON.stringify(value, null, 2) + '\n');
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** Removes the JSON temp files a killed receiver left in `dir`. */
export async function removeStaleJsonTemps(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (TEMP_SUFFIX.test(name)) await rm(path.join(dir, name), { force: true }).catch(() => undefined);
  }
}
