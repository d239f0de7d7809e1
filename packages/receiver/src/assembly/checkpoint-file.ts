import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { decodeObjectHeader, encodeObjectHeader, type ObjectHeader } from '@diodesync/protocol';

/** What survives a receiver restart beside the temp file: the header and the chunks already on disk. */
export interface Checkpoint {
  header: ObjectHeader;
  bitmap: Buffer;
  lastActivity: number;
}

/** As stored: `<id>.meta` beside `<id>.part`, JSON. */
interface Stored {
  header: string;
  bitmap: string;
  lastActivity: number;
}

export function checkpointPathOf(tempPath: string): string {
  return tempPath.replace(/\.part$/, '.meta');
}

/** Reads the checkpoint of a temp file; throws if it is missing, unreadable, or its temp file is gone. */
export async function readCheckpoint(tempPath: string): Promise<Checkpoint> {
  const saved = JSON.parse(await readFile(checkpointPathOf(tempPath), 'utf8')) as Stored;
  await stat(tempPath); // a checkpoint without its data is worthless
  return { header: decodeObjectHeader(Buffer.from(saved.header, 'base64')), bitmap: Buffer.from(saved.bitmap, 'base64'), lastActivity: saved.lastActivity };
}

/** Replaces a checkpoint through a temp file and a rename: a reader sees the old one or the new one. */
export async function writeCheckpoint(target: string, checkpoint: Checkpoint): Promise<void> {
  const saved: Stored = { header: encodeObjectHeader(checkpoint.header).toString('base64'), bitmap: checkpoint.bitmap.toString('base64'), lastActivity: checkpoint.lastActivity };
  const temp = `${target}.tmp`;
  try {
    await writeFile(temp, JSON.stringify(saved));
    await rename(temp, target);
  } catch (err) {
    // A full disk: the older checkpoint stays (it never claims a chunk that is not on disk);
    // the half-written temp file goes, rather than holding space until the next restart.
    await rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
}
