import { UsageError } from '@diodesync/cli-kit';
import { printablePath, type ManifestFile } from '@diodesync/protocol';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import * as path from 'node:path';
import { DestTree } from '../placement/dest-tree.js';
import { MIRROR_INDEX_FILE, MirrorIndex } from '../placement/mirror-index.js';
import { readKeptManifest } from './last-manifest.js';

/**
 * `diode-receive verify DEST`: the mirror against what the sender announced, as the receiver's
 * index keeps it (or an older receiver's last whole manifest). Every file announced is looked at (size, mtime, then SHA-256 read from disk), and every file of the
 * mirror the manifest does not list is named. Exit 0 when they match, 2 when not.
 */

export interface VerifyResult {
  dest: string;
  manifestCreatedAt: string;
  manifestKeptAt: string;
  files: number;
  missing: string[];
  outdated: { path: string; why: 'not a file' | 'size' | 'mtime' | 'sha256' }[];
  unexpected: string[];
}

const sameMtime = (a: number, b: number) => Math.abs(a - b) < 1;

/** Why the mirror's copy of `file` is not the manifest's version; undefined if it is; 'missing' if absent. */
async function compare(tree: DestTree, file: ManifestFile): Promise<VerifyResult['outdated'][number]['why'] | 'missing' | undefined> {
  const st = tree.inspect(file.path);
  if (!st) return 'missing';
  if (!st.isFile) return 'not a file';
  if (st.size !== file.size) return 'size';
  if (!sameMtime(st.mtimeMs, file.mtimeMs)) return 'mtime';
  return (await tree.hash(file.path)).equals(file.sha256) ? undefined : 'sha256';
}

export async function verifyMirror(dest: string, stateDir: string): Promise<VerifyResult> {
  const indexFile = path.join(stateDir, MIRROR_INDEX_FILE);
  if (existsSync(indexFile)) return verifyAgainstIndex(dest, indexFile);
  // A state directory of an older receiver: its last whole manifest.
  const kept = await readKeptManifest(stateDir).catch((err: Error) => {
    throw new UsageError(`cannot read the manifest kept in '${stateDir}': ${(err as NodeJS.ErrnoException).code ?? err.message}`);
  });
  if (!kept) throw new UsageError(`no manifest kept in '${stateDir}': has a receiver of '${dest}' received one? (or give its --state)`);
  const tree = new DestTree(dest);
  const result: VerifyResult = {
    dest, manifestCreatedAt: new Date(kept.manifest.createdAt).toISOString(), manifestKeptAt: kept.keptAt.toISOString(),
    files: 0, missing: [], outdated: [], unexpected: [],
  };
  await checkAll(tree, kept.manifest.files, result);
  const listed = new Set(kept.manifest.files.map((f) => f.path));
  result.unexpected = (await tree.listFiles()).filter((p) => !listed.has(p));
  return result;
}

/** The mirror against the receiver's index: announced files read a page at a time, the mirror walked once. */
async function verifyAgainstIndex(dest: string, indexFile: string): Promise<VerifyResult> {
  let index: MirrorIndex;
  try {
    index = new MirrorIndex(indexFile, { readonly: true });
  } catch (err) {
    throw new UsageError(`cannot read the index '${indexFile}': ${(err as Error).message}`);
  }
  try {
    const createdAt = index.meta('created_at');
    if (createdAt === undefined) throw new UsageError(`no manifest kept in '${path.dirname(indexFile)}': has a receiver of '${dest}' received one? (or give its --state)`);
    const tree = new DestTree(dest);
    const result: VerifyResult = {
      dest, manifestCreatedAt: new Date(Number(createdAt)).toISOString(), manifestKeptAt: (await stat(indexFile)).mtime.toISOString(),
      files: 0, missing: [], outdated: [], unexpected: [],
    };
    function* announced(): Generator<ManifestFile> {
      for (const row of index.rows('a_sha IS NOT NULL')) yield { path: row.path, ...row.announced! };
    }
    await checkAll(tree, announced(), result);
    for await (const run of tree.fileRuns()) for (const p of run) if (!index.isAnnounced(p)) result.unexpected.push(p);
    return result;
  } finally {
    index.close();
  }
}

/** Files compared this many at a time: hashing waits on the disk and the thread pool, not on this thread. */
const CHECKS_AT_ONCE = 16;

/** Compares every file, a few at a time, and lists what differs in the files' order. */
async function checkAll(tree: DestTree, files: Iterable<ManifestFile>, result: VerifyResult): Promise<void> {
  let batch: ManifestFile[] = [];
  const flush = async () => {
    const whys = await Promise.all(batch.map((file) => compare(tree, file).catch(() => 'missing' as const)));
    batch.forEach((file, i) => {
      const why = whys[i];
      if (why === 'missing') result.missing.push(file.path);
      else if (why) result.outdated.push({ path: file.path, why });
    });
    result.files += batch.length;
    batch = [];
  };
  for (const file of files) if (batch.push(file) === CHECKS_AT_ONCE) await flush();
  await flush();
}

/** Prints the comparison (text or JSON) on stdout; returns the exit code, 0 or 2. */
export async function runVerify(dest: string, stateDir: string, json: boolean): Promise<number> {
  const r = await verifyMirror(dest, stateDir);
  const matches = r.missing.length + r.outdated.length + r.unexpected.length === 0;
  const out = (line: string) => process.stdout.write(line + '\n');
  if (json) {
    out(JSON.stringify({ ...r, matches, missing: r.missing.map(printablePath), outdated: r.outdated.map((o) => ({ ...o, path: printablePath(o.path) })), unexpected: r.unexpected.map(printablePath) }, null, 2));
  } else {
    for (const p of r.missing) out(`missing     ${printablePath(p)}`);
    for (const o of r.outdated) out(`outdated    ${printablePath(o.path)} (${o.why === 'not a file' ? o.why : `${o.why} differs`})`);
    for (const p of r.unexpected) out(`unexpected  ${printablePath(p)}`);
    out(matches
      ? `mirror ${r.dest} matches the manifest of ${r.manifestCreatedAt}: ${r.files} file(s)`
      : `mirror ${r.dest} differs from the manifest of ${r.manifestCreatedAt} (${r.files} file(s)): ${r.missing.length} missing, ${r.outdated.length} outdated, ${r.unexpected.length} unexpected`);
  }
  return matches ? 0 : 2;
}
