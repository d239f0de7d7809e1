import { mkdir, readdir, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { PartialObject, type WriteEvents } from './partial-object.js';

/**
 * Restart recovery: picks up the partial objects an earlier run checkpointed in `dir`
 * (`<id>.part` and `<id>.meta`), by content id; anything unreadable there is removed.
 */
export async function restorePartials(dir: string, events: (id: string) => WriteEvents): Promise<Map<string, PartialObject>> {
  await mkdir(dir, { recursive: true });
  const names = await readdir(dir);
  const restored = new Map<string, PartialObject>();
  for (const name of names.filter((n) => n.endsWith('.part'))) {
    const id = name.slice(0, -'.part'.length);
    const tempPath = path.join(dir, name);
    try {
      restored.set(id, await PartialObject.restore(tempPath, events(id)));
    } catch {
      await rm(tempPath, { force: true });
    }
  }
  // Checkpoints without a temp file, and half-written checkpoints.
  for (const name of names) {
    if (!name.endsWith('.part') && !restored.has(name.replace(/\.meta(\.tmp)?$/, ''))) {
      await rm(path.join(dir, name), { force: true });
    }
  }
  return restored;
}
