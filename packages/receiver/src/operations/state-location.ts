import { statSync } from 'node:fs';
import * as path from 'node:path';
import { defaultStateRoot, treeKey } from '@diodesync/cli-kit';

/** Before the state moved under the state root, it lay beside the mirror: `.<dest>.diodesync`. */
export function legacyStateDir(dest: string): string {
  return path.join(path.dirname(dest), `.${path.basename(dest)}.diodesync`);
}

/**
 * The receiver's default state for a mirror (its real path): the old `.<dest>.diodesync` where an
 * earlier version left one (an upgrade keeps its partial files and report), else
 * <$STATE_DIRECTORY, or $XDG_STATE_HOME/diodesync, or ~/.local/state/diodesync>/<name>-<hash>,
 * which a service user owns even when it cannot write dest's parent.
 */
export function defaultStateDir(destReal: string): { dir: string; legacy: boolean } {
  const legacy = legacyStateDir(destReal);
  if (statSync(legacy, { throwIfNoEntry: false })?.isDirectory()) return { dir: legacy, legacy: true };
  return { dir: path.join(defaultStateRoot(), treeKey(destReal)), legacy: false };
}
