import type { Manifest, ManifestFile, ObjectHeader, ReportEntry as MissingEntry, SyncReport } from '@diodesync/protocol';
import type { DestTree } from './dest-tree.js';
import { isPermanentRefusal, pathRefusal } from './paths.js';

interface VerifiedFile {
  size: number;
  mtimeMs: number;
  sha256: Buffer;
}

/** report.json's types live in the protocol package: `diode-send ledger reset --from-report` reads what this writes. */
export type { MissingEntry, SyncReport };

/** Paths with a known problem kept for the report; beyond this the oldest go. */
const MAX_PROBLEMS = 1_000_000;

/** Same mtime to the millisecond: what survives utimes() and every file system we target. */
const sameMtime = (a: number, b: number) => Math.abs(a - b) < 1;

/**
 * Compares the mirror with the sender's latest manifest. "Synced" means every file of that
 * manifest is in the mirror with the announced size, mtime and SHA-256.
 */
export class SyncTracker {
  private manifest: Manifest | undefined;
  private pending = new Map<string, ManifestFile>();
  private readonly verified = new Map<string, VerifiedFile>();
  private applying: Promise<void> = Promise.resolve();
  /** Why a path is not in the mirror, as far as the receiver knows: the report says it. */
  private readonly problems = new Map<string, string>();
  /** Told when a file this process had verified is found gone or changed in the mirror. */
  onLost: (path: string) => void = () => undefined;

  constructor(private readonly dest: DestTree, private readonly portableNames = false) {}

  /** Records why a file is not (yet) in the mirror; the next placement of the path clears it. */
  noteProblem(path: string, reason: string): void {
    this.problems.delete(path);
    if (this.problems.size >= MAX_PROBLEMS) this.problems.delete(this.problems.keys().next().value!);
    this.problems.set(path, reason);
  }

  /** True if something is missing and nothing missing can ever arrive: every such file is refused for its name. */
  get onlyRefusedLeft(): boolean {
    if (this.manifest === undefined || this.pending.size === 0) return false;
    for (const path of this.pending.keys()) if (!isPermanentRefusal(this.problems.get(path))) return false;
    return true;
  }

  get synced(): boolean {
    return this.manifest !== undefined && this.pending.size === 0;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Waits until manifests already received have been compared with the mirror. */
  async settle(): Promise<void> {
    await this.applying;
  }

  /** Adopts a new manifest (serialised: manifests are applied in arrival order). */
  applyManifest(manifest: Manifest): Promise<void> {
    this.applying = this.applying.then(() => this.apply(manifest));
    return this.applying;
  }

  private async apply(manifest: Manifest): Promise<void> {
    this.dest.recheck();
    for (const dir of manifest.dirs) {
      if (pathRefusal(dir, this.portableNames) === undefined) await this.dest.ensureDir(dir).catch(() => undefined);
    }
    const pending = new Map<string, ManifestFile>();
    for (const file of manifest.files) {
      const refusal = pathRefusal(file.path, this.portableNames);
      if (refusal !== undefined) {
        // Never silently: a file the mirror will not hold is missing, with its reason.
        pending.set(file.path, file);
        this.noteProblem(file.path, refusal);
        continue;
      }
      if (await this.isInPlace(file)) continue;
      pending.set(file.path, file);
      // Someone removed or changed it under us: what we verified earlier no longer holds.
      if (this.verified.delete(file.path)) this.onLost(file.path);
    }
    // Files placed while we were looking are ticked off here: placed() saw the old pending set.
    for (const file of pending.values()) if (this.matchesVerified(file)) pending.delete(file.path);
    this.manifest = manifest;
    this.pending = pending;
  }

  private matchesVerified(f: { path: string; size: number; mtimeMs: number; sha256: Buffer }): boolean {
    const v = this.verified.get(f.path);
    return !!v && v.size === f.size && sameMtime(v.mtimeMs, f.mtimeMs) && v.sha256.equals(f.sha256);
  }

  /** A verified file was placed: remember its hash and tick it off. */
  placed(path: string, size: number, mtimeMs: number, sha256: Buffer): void {
    this.verified.set(path, { size, mtimeMs, sha256 });
    this.problems.delete(path);
    const wanted = this.pending.get(path);
    if (wanted && this.matchesVerified(wanted)) this.pending.delete(path);
  }

  /** A rename or copy put a file in place: tick it off if it is what the manifest wants. */
  placedByChange(path: string): void {
    const wanted = this.pending.get(path);
    if (wanted) void this.isInPlace(wanted).then((ok) => ok && this.pending.delete(path));
  }

  /** True if the mirror already holds exactly this version: its data need not be assembled. */
  holds(header: ObjectHeader): boolean {
    return this.matchesVerified(header);
  }

  /** Looks in the mirror (hashing once if needed) for exactly this version. */
  async isInPlace(file: { path: string; size: number; mtimeMs: number; sha256: Buffer }): Promise<boolean> {
    const st = await this.dest.inspect(file.path);
    if (!st?.isFile || st.size !== file.size || !sameMtime(st.mtimeMs, file.mtimeMs)) return false;
    let v = this.verified.get(file.path);
    if (!v || v.size !== st.size || !sameMtime(v.mtimeMs, st.mtimeMs)) {
      // Present but not verified by this process: hash it once.
      const sha256 = await this.dest.hash(file.path).catch(() => undefined);
      if (!sha256) return false;
      v = { size: st.size, mtimeMs: st.mtimeMs, sha256 };
      this.verified.set(file.path, v);
    }
    return v.sha256.equals(file.sha256);
  }

  async report(): Promise<SyncReport> {
    await this.applying;
    const manifest = this.manifest;
    const missing: MissingEntry[] = [];
    const outdated: MissingEntry[] = [];
    for (const file of this.pending.values()) {
      const reason = this.problems.get(file.path);
      const entry: MissingEntry = { path: file.path, size: file.size, sha256: file.sha256.toString('hex'), mtime: isoTime(file.mtimeMs), ...(reason && { reason }) };
      const present = !isPermanentRefusal(reason) && (await this.dest.inspect(file.path));
      (present ? outdated : missing).push(entry);
    }
    const listed = new Set(manifest?.files.map((f) => f.path));
    const unexpected = manifest ? (await this.dest.listFiles()).filter((p) => !listed.has(p)) : [];
    return {
      generatedAt: new Date().toISOString(),
      dest: this.dest.root,
      synced: this.synced,
      manifestCreatedAt: manifest ? isoTime(manifest.createdAt) : null,
      manifestFiles: manifest?.files.length ?? 0,
      missing,
      outdated,
      unexpected,
    };
  }
}

/** ISO time, or the number of milliseconds where a date cannot say it (beyond year 275760). */
function isoTime(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}
