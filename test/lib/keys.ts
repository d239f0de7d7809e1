import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';

/** Writes a fresh 32-byte key as base64, as the README says to (mode 600 unless told). */
export async function writeKey(dir: string, name: string, mode = 0o600): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, randomBytes(32).toString('base64') + '\n', { mode });
  return file;
}
