import { mkdir, readdir, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { headerId } from './object-table.js';
import { PartialObject, type WriteEvents } from './partial-object.js';

/**
 * Restart recovery: picks up the partial objects an earlier run checkpointed in `dir` (`<name>.part`
 * and `<name>.meta`), by the id of the header in the checkpoint (a temp file keeps the name it was
 * made with when its object takes its hash later: assembler.ts); anything unreadable there is removed.
 */
export async function restorePartials(dir: string, events: () => WriteEvents): Promise<Map<string, PartialObject>> {
  await mkdir(dir, { recursive: true });
  const names = await readdir(dir);
  const restored = new Map<string, PartialObject>();
  const kept = new Set<string>();
  for (const name of names.filter((n) => n.endsWith('.part'))) {
    const tempPath = path.join(dir, name);
    try {
      const partial = await PartialObject.restore(tempPath, events());
      const id = headerId(partial.header);
      if (restored.has(id)) throw new Error('a second copy of one object');
      restored.set(id, partial);
      kept.add(name.slice(0, -'.part'.length));
    } catch {
      await rm(tempPath, { force: true });
    }
  }
  // Checkpoints without a temp file, and half-written checkpoints.
  for (const name of names) {
    if (!name.endsWith('.part') && !kept.has(name.replace(/\.meta(\.tmp)?$/, ''))) {
      await rm(path.join(dir, name), { force: true });
    }
  }
  return restored;
}
