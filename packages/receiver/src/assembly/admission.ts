import { printablePath, type ObjectHeader } from '@diodesync/protocol';
import type { ReceiverCounters } from '../counters.js';
import { log } from '../log.js';
import { isPermanentRefusal, pathRefusal } from '../placement/paths.js';
import { MAX_ASSEMBLY_CHUNKS, type ResourceLimits } from './limits.js';

/** Complete objects waiting for verification and placement; beyond this, new objects wait for a later pass. */
const MAX_FINISHING = 16_384;
/** Paths whose refusal was logged; a flood of refused headers logs each path once, not each frame. */
const MAX_LOGGED_REFUSALS = 10_000;

export interface AdmissionSettings {
  /** --workers: objects assembled at once; beyond this, new object headers are dropped. */
  maxPartials: number;
  /** --portable-names: refuse names that Windows cannot hold. */
  portableNames?: boolean | undefined;
  /** --max-file-size, --max-files, --min-free. */
  limits: ResourceLimits;
}

/** What admission reads of the objects under way. */
interface UnderWay {
  readonly complete: boolean;
  readonly header: ObjectHeader;
}

/**
 * Decides whether a new object may start assembling: a path the mirror can hold, room among
 * the objects under way, and the limits (--max-file-size, --max-files, --min-free, the chunk
 * ceiling). Each refusal is counted, logged once per path and reason, and kept for the report.
 */
export class Admission {
  private readonly refusalsLogged = new Set<string>();

  constructor(
    private readonly settings: AdmissionSettings,
    private readonly counters: ReceiverCounters,
    private readonly mirror: {
      /** Regular files in the mirror, for --max-files. */
      readonly filesInMirror: number;
      /** Keeps the reason of a refusal for the report. */
      noteProblem(path: string, reason: string): void;
    },
  ) {}

  /** Measures free space again (about once a second, and at start). */
  refresh(): Promise<void> {
    return this.settings.limits.refresh();
  }

  /** True (and counted, logged, reported) if the object is a file whose path the mirror will not hold. */
  refusesPath(header: ObjectHeader): boolean {
    if (header.kind !== 'file') return false;
    const reason = pathRefusal(header.path, !!this.settings.portableNames);
    if (!reason) return false;
    this.counters.badPath++;
    this.refused(header.path, reason, { reason });
    return true;
  }

  /** True (and counted) if a file must wait for a later pass: too many objects under way. */
  busy(header: ObjectHeader, partials: number, finishing: number): boolean {
    // Objects being verified and placed no longer assemble: only the others count against --workers.
    // The manifest always gets in: without it the receiver cannot say what it lacks.
    const busy = partials - finishing >= this.settings.maxPartials || finishing >= MAX_FINISHING;
    if (header.kind !== 'file' || !busy) return false;
    this.counters.tooManyPartials++;
    return true;
  }

  /** Refuses (and counts, and logs once per path) an object that would breach --max-file-size, --max-files or --min-free. */
  withinLimits(header: ObjectHeader, partials: ReadonlyMap<string, UnderWay>): boolean {
    let reserved = 0;
    let chunks = 0;
    for (const p of partials.values()) {
      if (p.complete) continue;
      reserved += p.header.size;
      chunks += p.header.chunkCount;
    }
    const breach = this.settings.limits.breach(header, this.mirror.filesInMirror + partials.size, reserved);
    if (!breach) {
      if (chunks + header.chunkCount <= MAX_ASSEMBLY_CHUNKS) return true;
      this.counters.tooManyPartials++; // fits alone: it waits for the objects under way to finish
      return false;
    }
    this.counters.limits[breach]++;
    this.refused(header.path, `refused: ${breach}`, { size: header.size, limit: breach });
    return false;
  }

  /** A file the receiver will not take: logged once per path and reason, and listed in the report with the reason. */
  private refused(rel: string, reason: string, detail: Record<string, unknown>): void {
    if (rel) this.mirror.noteProblem(rel, reason);
    const key = `${reason}\0${rel}`;
    if (this.refusalsLogged.has(key)) return;
    if (this.refusalsLogged.size >= MAX_LOGGED_REFUSALS) this.refusalsLogged.clear();
    this.refusalsLogged.add(key);
    log(isPermanentRefusal(reason) ? 'path-refused' : 'object-refused', { path: rel ? printablePath(rel) : '(manifest)', ...detail });
  }
}
