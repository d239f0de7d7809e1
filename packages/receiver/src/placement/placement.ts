import { readFile, rename, rm } from 'node:fs/promises';
import { ProtocolError, decodeManifest, hashKnown, printablePath, type HashedHeader, type ObjectHeader } from '@diodesync/protocol';
import type { ReceiverCounters } from '../counters.js';
import { log } from '../log.js';
import { auditFile } from './audit.js';
import type { DestTree } from './dest-tree.js';
import type { SyncTracker } from './sync-tracker.js';

/** What placement needs of a complete object (the assembler's PartialObject). */
export interface CompleteObject {
  readonly header: ObjectHeader;
  readonly tempPath: string;
  /** SHA-256 of the temp file as read back from disk, or undefined if a write failed and chunks are missing again. */
  finish(): Promise<Buffer | undefined>;
}

/** What became of a complete object; the assembler acts on it (keep, start again, forget). */
export type Verdict =
  /** Verified and renamed into the mirror. */
  | { kind: 'placed' }
  /** Verified, and the mirror already holds it byte for byte: its file (and inode) is left alone. */
  | { kind: 'in-place' }
  /** A verified manifest, in `file` until `applyManifest` reads it and compares it with the mirror. */
  | { kind: 'manifest'; file: string }
  /** Complete, but its SHA-256 differs (a corrupt or forged chunk): fetched again. */
  | { kind: 'spoilt' }
  /** A write failed (logged by the partial): what is on disk is kept, the next pass fills the rest. */
  | { kind: 'unwritten' }
  /** It could not be read, decoded or placed: counted, logged and reported. */
  | { kind: 'failed' };

/**
 * The last stage: verifies a complete object and places it in the mirror. Input: a complete
 * object. Output: a verdict. It also answers whether the mirror already holds a version (one
 * check, used before assembly and after verification), keeps the number of files in the
 * mirror for --max-files, and records what was placed so the sync tracker can tick it off.
 */
export class Placement {
  /** Regular files in the mirror, counted at start and kept up to date, for --max-files. */
  filesInMirror = 0;

  constructor(
    private readonly counters: ReceiverCounters,
    private readonly dest: DestTree,
    private readonly sync: SyncTracker,
  ) {}

  async start(): Promise<void> {
    this.filesInMirror = await this.dest.countFiles();
  }

  /** True if this process verified exactly this version in the mirror (no disk access). */
  holds(header: HashedHeader): boolean {
    return this.sync.holds(header);
  }

  /** True if the mirror holds exactly this version: a restart, a second run, or a copy already placed. */
  inPlace(header: HashedHeader): Promise<boolean> {
    return this.sync.isInPlace(header);
  }

  /** Why a file is not (yet) in the mirror, for the report. */
  noteProblem(path: string, reason: string): void {
    this.sync.noteProblem(path, reason);
  }

  async verify(object: CompleteObject): Promise<Verdict> {
    const { header } = object;
    try {
      // The assembler hands on an object whose hash followed its data only once that hash came.
      if (!hashKnown(header)) throw new Error('no hash to verify against');
      const sha256 = await object.finish();
      // A write failed (logged by the partial): keep what is on disk, let the next pass fill the rest.
      if (!sha256) return { kind: 'unwritten' };
      if (!sha256.equals(header.sha256)) {
        this.counters.verifyFailed++;
        log('verify-failed', { path: header.path ? printablePath(header.path) : '(manifest)' });
        if (header.path) this.sync.noteProblem(header.path, 'verify failed: SHA-256 differs (a corrupt or forged chunk); fetched again');
        return { kind: 'spoilt' };
      }
      if (header.kind === 'manifest') {
        // Kept on disk until its turn: a burst of pieces takes hundreds of megabytes once decoded.
        const file = `${object.tempPath}.manifest`;
        await rename(object.tempPath, file);
        return { kind: 'manifest', file };
      }
      // Already there, byte for byte: leave the mirror's file (and its inode) alone.
      if (await this.inPlace(header)) return { kind: 'in-place' };
      const isNew = await this.dest.place(object.tempPath, header.path, header);
      if (isNew) this.filesInMirror++;
      auditFile(isNew ? 'placed' : 'replaced', { path: header.path, size: header.size, sha256: header.sha256, mtimeMs: header.mtimeMs });
      return { kind: 'placed' };
    } catch (err) {
      this.failed(header, err);
      return { kind: 'failed' };
    }
  }

  /** A placed file counts, and the sync tracker ticks it off. */
  record(header: ObjectHeader): void {
    if (!hashKnown(header)) return; // never placed: verify() refuses it
    this.counters.filesCompleted++;
    this.sync.placed(header.path, header.size, header.mtimeMs, header.sha256);
  }

  /** Compares a verified manifest (in `file`, removed once read) with the mirror, after those before it. */
  async applyManifest(file: string): Promise<void> {
    this.counters.manifests++;
    const manifest = await this.sync.applyManifest(async () => {
      try {
        return decodeManifest(await readFile(file));
      } finally {
        await rm(file, { force: true });
      }
    });
    const s = manifest.scope;
    log('manifest', {
      files: manifest.files.length, pass: manifest.pass, missing: this.sync.pendingCount,
      ...(s?.kind === 'piece' && { cycle: s.cycle, piece: s.index }), ...(s?.kind === 'delta' && { delta: s.seq, removed: s.removed.length }),
    });
  }

  /** An object that could not be decoded, read or placed: counted, logged, and reported with its reason. */
  failed(header: ObjectHeader, err: unknown): void {
    const e = err as NodeJS.ErrnoException;
    if (err instanceof ProtocolError) this.counters.badMessage++;
    else {
      this.counters.writeErrors++;
      log('write-failed', { path: header.path ? printablePath(header.path) : '(manifest)', error: e.code ?? e.message });
      if (header.path) this.sync.noteProblem(header.path, `write failed: ${e.code ?? e.message}`);
    }
  }
}
