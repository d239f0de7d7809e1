import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { decodeManifest, type Manifest } from '@diodesync/protocol';

/** The last verified manifest, as it came off the wire (msgpack): what `diode-receive verify` compares the mirror with. */
export const MANIFEST_FILE = 'last-manifest.msgpack';

/** Keeps a manifest through a temp file and a rename: a reader sees the previous one or this one, never half. */
export async function keepManifest(stateDir: string, encoded: Buffer): Promise<void> {
  const target = path.join(stateDir, MANIFEST_FILE);
  const temp = `${target}.tmp`;
  try {
    await writeFile(temp, encoded);
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** The kept manifest and when it was kept, or undefined if this state directory has none. */
export async function readKeptManifest(stateDir: string): Promise<{ manifest: Manifest; keptAt: Date } | undefined> {
  const file = path.join(stateDir, MANIFEST_FILE);
  const encoded = await readFile(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!encoded) return undefined;
  return { manifest: decodeManifest(encoded), keptAt: (await stat(file)).mtime };
}
