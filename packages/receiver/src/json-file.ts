import { rename, writeFile } from 'node:fs/promises';

let writes = 0;

/** Writes JSON through a uniquely named temp file and a rename: readers never see half a file. */
export async function writeJsonAtomic(target: string, value: unknown): Promise<void> {
  const temp = `${target}.${process.pid}.${++writes}.tmp`;
  await writeFile(temp, JSON.stringify(value, null, 2) + '\n');
  await rename(temp, target);
}
