import { readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { UsageError } from '@diodesync/cli-kit';
import { decodeManifest, type Manifest } from '@diodesync/protocol';
import { MIRROR_INDEX_FILE, MirrorIndex } from '../placement/mirror-index.js';

/** An older receiver's last whole manifest (msgpack): `diode-receive verify` reads it where a state directory has no index. */
export const MANIFEST_FILE = 'last-manifest.msgpack';

/**
 * Opens (or makes) the receiver's index of the tree, `<state>/mirror-index.sqlite`: what the
 * sender announced, what is verified in place, what is pending; `diode-receive verify` reads it.
 */
export function openMirrorIndex(stateDir: string): MirrorIndex {
  const file = path.join(stateDir, MIRROR_INDEX_FILE);
  try {
    return new MirrorIndex(file);
  } catch (err) {
    throw new UsageError(`cannot open the index '${file}': ${(err as Error).message}`);
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
