import * as path from 'node:path';
import { hashKnown, printablePath, type Frame, type HashedHeader, type ObjectHeader } from '@diodesync/protocol';
import type { ReceiverCounters } from '../counters.js';
import { log } from '../log.js';
import { Admission, type AdmissionSettings } from './admission.js';
import { ByteBudget } from './byte-budget.js';
import { FifoGate } from './fifo-gate.js';
import { ChunkRouter } from './chunk-router.js';
import { ObjectTable, contentId, provisionalId, wireIdOf } from './object-table.js';
import { PartialObject, type WriteEvents } from './partial-object.js';
import { restorePartials } from './recovery.js';

const IDLE_CLOSE_MS = 5_000;
/** Complete objects verified and placed at once: enough to keep the 16 threads of libuv's pool busy. */
const MAX_VERIFYING = 64;
const DAY_MS = 86_400_000;
/** Expired partials kept for the report. */
const MAX_EXPIRED_LISTED = 1_000;

export interface AssemblerSettings extends AdmissionSettings {
  stateDir: string;
  /** --max-buffer: bytes accepted but not yet on disk; beyond this, new chunks are dropped (and come again next pass). */
  maxBuffer: number;
  /** A partial object that gets no chunk for this long is removed and reported (default 24 h). */
  partialTtlMs?: number | undefined;
}

/** What the assembler asks of the mirror; placement answers. */
export interface MirrorView {
  /** Regular files in the mirror, for --max-files. */
  readonly filesInMirror: number;
  /** True if this process verified exactly this version in the mirror (no disk access). */
  holds(header: HashedHeader): boolean;
  /** True if the mirror holds exactly this version. */
  inPlace(header: HashedHeader): Promise<boolean>;
  /** Why a file is not (yet) in the mirror, for the report. */
  noteProblem(path: string, reason: string): void;
}

/** Hands a complete object on to verification and placement; settles once its verdict has been acted on. */
export type CompleteObjects = (id: string, partial: PartialObject) => Promise<void>;

export interface ExpiredObject {
  path: string;
  at: string;
  chunks: number;
  of: number;
}

/**
 * The middle stage. Input: object headers, data and parity frames from the intake. It admits
 * objects (Admission), keeps the table of objects (ObjectTable), routes chunks into temp files
 * under <state>/partial within one byte budget, rebuilding lost ones from parity (ChunkRouter),
 * checkpoints and expires partial objects, and recovers them after a restart. Output: complete
 * objects, to `complete`; their verdict comes back as resume, restart, inPlace, placed or drop.
 */
export class Assembler {
  readonly table = new ObjectTable();
  /** Chunks not yet on disk plus parity held: what --max-buffer bounds. */
  readonly budget: ByteBudget;
  /** Partial objects given up after --partial-ttl, for the report. */
  readonly expired: ExpiredObject[] = [];
  private readonly partials = this.table.partials;
  private readonly partialDir: string;
  private readonly admission: Admission;
  private readonly router: ChunkRouter;
  /** Complete objects being verified and placed. */
  private readonly finishing = new Set<Promise<void>>();
  /** Of those, the ones being verified and placed; the rest wait in line, their chunks not yet written. */
  private readonly verifying = new FifoGate(MAX_VERIFYING);

  constructor(
    private readonly settings: AssemblerSettings,
    private readonly counters: ReceiverCounters,
    private readonly mirror: MirrorView,
    private readonly complete: CompleteObjects,
  ) {
    this.partialDir = path.join(settings.stateDir, 'partial');
    this.budget = new ByteBudget(settings.maxBuffer);
    this.admission = new Admission(settings, counters, mirror);
    this.router = new ChunkRouter(this.table, this.budget, counters, (id, partial) => this.finish(id, partial));
  }

  /** Picks up the partial objects an earlier run checkpointed (restart recovery). */
  async start(): Promise<void> {
    for (const [id, partial] of await restorePartials(this.partialDir, () => this.writeEvents())) {
      this.partials.set(id, partial);
      // A first send again of its version (its header without the hash) joins it, rather than starting a copy.
      if (hashKnown(partial.header)) this.table.rekey(provisionalId(partial.header), id);
      this.counters.partialsRestored++;
    }
    if (this.partials.size > 0) log('partials-restored', { objects: this.partials.size });
  }

  /** Measures free space again, for --min-free. */
  refreshLimits(): Promise<void> {
    return this.admission.refresh();
  }

  /** A partial's writes: bytes leaving memory, and failures (logged once per object, kept in the report). */
  private writeEvents(): WriteEvents {
    let logged = false;
    return {
      written: (bytes) => this.budget.give(bytes),
      failed: (err, path) => {
        this.counters.writeErrors++;
        if (path) this.mirror.noteProblem(path, `write failed: ${err.code ?? err.message}`);
        if (logged) return;
        logged = true;
        log('write-failed', { path: path ? printablePath(path) : '(manifest)', error: err.code ?? err.message, keep: 'partial kept: the next pass brings the missing chunks' });
      },
    };
  }

  private newPartial(id: string, header: ObjectHeader): PartialObject {
    const partial = new PartialObject(header, this.tempPathFor(id, header), this.writeEvents());
    this.partials.set(id, partial);
    return partial;
  }

  /**
   * `<id>.part`. A temp file keeps the name it was made with when its object takes its hash (the
   * checkpoint's header says whose it is), so an object without its hash may find its name taken by
   * an earlier copy of its version that has taken the hash since; it gets `<id>.<n>.part` then.
   */
  private tempPathFor(id: string, header: ObjectHeader): string {
    let name = path.join(this.partialDir, `${id}.part`);
    if (hashKnown(header)) return name;
    const inUse = new Set([...this.partials.values()].map((p) => p.tempPath));
    for (let n = 1; inUse.has(name); n++) name = path.join(this.partialDir, `${id}.${n}.part`);
    return name;
  }

  /** A copy of a header whose object is complete or under way (and has its hash: one that lacks it waits for the header that brings it). */
  knowsHeader({ header: h }: Frame): boolean {
    const known = this.table.idOf(wireIdOf(h));
    return known !== undefined && this.table.knows(known) && this.partials.get(known)?.awaitsHash !== true;
  }

  objectHeader({ header: h }: Frame, header: ObjectHeader): void {
    const wireId = wireIdOf(h);
    if (this.admission.refusesPath(header)) return;
    // A late copy of a header without its hash, for an object that has taken it since, is a copy of that object's.
    const id = hashKnown(header) ? contentId(header) : this.table.hashedAs(provisionalId(header)) ?? provisionalId(header);
    if (this.table.isCompleted(id) || (hashKnown(header) && header.kind === 'file' && this.mirror.holds(header))) {
      this.table.markCompleted(id, header);
      if (hashKnown(header)) this.dropProvisional(header);
    } else if (!this.partials.has(id) && !(hashKnown(header) && this.hashArrived(id, header))) {
      if (header.kind === 'file') this.makeRoom(Date.now());
      if (this.admission.busy(header, this.partials.size, this.finishing.size)) return;
      if (!this.admission.withinLimits(header, this.partials)) return;
      const partial = this.newPartial(id, header);
      if (header.kind === 'file') this.dropSuperseded(id, header.path);
      if (header.chunkCount === 0) this.finish(id, partial);
      else if (header.kind === 'file' && hashKnown(header)) void this.skipIfInPlace(id, partial);
    }
    this.table.remember(wireId, id);
    this.router.releaseOrphans(wireId);
  }

  /**
   * The hash of an object whose data came first (a first send, read once): its partial is known by
   * its content from now on, and is verified if its data is all there. False if there is none.
   */
  private hashArrived(id: string, header: HashedHeader): boolean {
    const provisional = provisionalId(header);
    const partial = this.partials.get(provisional);
    if (!partial) return false;
    this.table.rekey(provisional, id);
    partial.hashArrived(header.sha256);
    if (partial.complete) this.finish(id, partial);
    else if (header.kind === 'file') void this.skipIfInPlace(id, partial);
    return true;
  }

  /** The mirror already holds the version whose hash just came: what arrived of it without the hash is not needed. */
  private dropProvisional(header: HashedHeader): void {
    const provisional = provisionalId(header);
    const partial = this.partials.get(provisional);
    if (partial) void this.drop(provisional, partial);
  }

  /**
   * A newer version of a path supersedes one still waiting for its hash: the sender saw that one
   * change as it read it, so it never sends the hash, and its temp file would hold the disk until
   * --partial-ttl.
   */
  private dropSuperseded(id: string, filePath: string): void {
    for (const [other, partial] of this.partials) {
      if (other !== id && partial.awaitsHash && partial.header.path === filePath) void this.drop(other, partial);
    }
  }

  data(frame: Frame): void {
    this.router.data(frame);
  }

  parity(frame: Frame): void {
    this.router.parity(frame);
  }

  /** A mirror that already holds this version (a receiver restart, a second run) needs none of its data. */
  private async skipIfInPlace(id: string, partial: PartialObject): Promise<void> {
    const { header } = partial;
    if (!hashKnown(header)) return;
    const inPlace = await this.mirror.inPlace(header).catch(() => false);
    if (!inPlace || this.partials.get(id) !== partial || partial.complete || partial.verifying) return;
    await this.inPlace(id, partial);
  }

  private finish(id: string, partial: PartialObject): void {
    this.router.clearParity(partial);
    if (partial.awaitsHash) {
      partial.flush(); // to disk meanwhile: verified once its hash comes (hashArrived)
      return;
    }
    partial.verifying = true;
    const done = this.verifying.run(() => this.complete(id, partial)).finally(() => {
      partial.verifying = false;
      this.finishing.delete(done);
    });
    this.finishing.add(done);
  }

  /** Verdict "unwritten": a write failed; the frames that came meanwhile go to the object now (it needs them again). */
  resume(id: string, partial: PartialObject): void {
    partial.verifying = false;
    this.router.replay(this.router.takeHeld(id));
  }

  /**
   * Verdict "spoilt": a corrupt chunk (forged, or a CRC collision) spoilt the object. The frames of
   * the next pass that came while it was being verified start a fresh copy, rather than being lost
   * as duplicates.
   */
  async restart(id: string, partial: PartialObject): Promise<void> {
    const { header } = partial;
    // Still listed while its file goes, so that frames arriving meanwhile are held for the new copy.
    await partial.discard();
    this.partials.delete(id);
    const held = this.router.takeHeld(id);
    if (held.length === 0 || this.partials.has(id) || !this.admission.withinLimits(header, this.partials)) {
      this.counters.duplicateChunks += held.length;
      return;
    }
    this.newPartial(id, header);
    this.router.replay(held);
  }

  /** Verdict "in-place": the mirror already holds this version; its data is not needed. */
  async inPlace(id: string, partial: PartialObject): Promise<void> {
    this.table.markCompleted(id, partial.header);
    await this.drop(id, partial);
  }

  /** Verdict "placed": the temp file became a mirror file; what came for it meanwhile is not needed. */
  async placed(id: string, partial: PartialObject): Promise<void> {
    await partial.forgetCheckpoint();
    this.partials.delete(id);
    this.counters.duplicateChunks += this.router.takeHeld(id).length;
    this.table.markCompleted(id, partial.header);
  }

  /** Forgets an object so that the next pass starts it afresh. */
  async drop(id: string, partial: PartialObject): Promise<void> {
    this.counters.duplicateChunks += this.router.takeHeld(id).length;
    this.partials.delete(id);
    this.router.clearParity(partial);
    await partial.discard();
  }

  /** Every tick: expires what waited too long, pushes buffered runs to disk, closes descriptors of objects that went quiet. */
  tick(now: number, checkpoint: boolean): void {
    this.router.expire(now);
    if (checkpoint) void this.admission.refresh().catch(() => undefined);
    for (const [id, partial] of this.partials) {
      if (partial.verifying || (partial.complete && !partial.awaitsHash)) continue;
      if (now - partial.lastActivity > (this.settings.partialTtlMs ?? DAY_MS)) this.expire(id, partial, now);
      else if (now - partial.lastActivity > IDLE_CLOSE_MS) {
        // Its pass is over: parity it still holds cannot be completed before the next pass resends it.
        this.router.clearParity(partial);
        void partial.checkpoint().then(() => partial.closeIdle());
      } else if (checkpoint) void partial.checkpoint();
      else partial.flush();
    }
  }

  /**
   * Every --workers slot taken: the object idle longest gives up its slot if its pass is over
   * (idle past IDLE_CLOSE_MS). Otherwise, with -R 1 and a few frames lost, the objects that can
   * never complete would hold every slot until --partial-ttl and refuse every new file meanwhile;
   * one given up is started afresh by the sender's next pass, if any.
   */
  private makeRoom(now: number): void {
    if (this.partials.size - this.finishing.size < this.settings.maxPartials) return;
    let idlest: [string, PartialObject] | undefined;
    for (const entry of this.partials) {
      const p = entry[1];
      if ((p.complete && !p.awaitsHash) || p.verifying || p.header.kind !== 'file') continue;
      if (!idlest || p.lastActivity < idlest[1].lastActivity) idlest = entry;
    }
    if (idlest && now - idlest[1].lastActivity > IDLE_CLOSE_MS) this.expire(idlest[0], idlest[1], now, 'every --workers slot taken');
  }

  private expire(id: string, partial: PartialObject, now: number, why = 'expired after --partial-ttl'): void {
    const { path, chunkCount } = partial.header;
    this.counters.partialsExpired++;
    if (this.expired.length >= MAX_EXPIRED_LISTED) this.expired.shift();
    this.expired.push({ path, at: new Date(now).toISOString(), chunks: partial.received, of: chunkCount });
    log('partial-expired', { path: printablePath(path), chunks: partial.received, of: chunkCount, why });
    if (path) this.mirror.noteProblem(path, `${why}: given up with ${partial.received} of ${chunkCount} chunks`);
    void this.drop(id, partial);
  }

  /** Objects still being assembled, for status and the report. */
  summary(): { path: string; chunks: number; of: number; idleSeconds: number }[] {
    const now = Date.now();
    return [...this.partials.values()]
      .filter((p) => p.header.kind === 'file')
      .map((p) => ({ path: p.header.path, chunks: p.received, of: p.header.chunkCount, idleSeconds: Math.round((now - p.lastActivity) / 1000) }));
  }

  get partialCount(): number {
    return this.partials.size;
  }

  /** Waits for objects being verified and placed. */
  async settle(): Promise<void> {
    while (this.finishing.size > 0) await Promise.all([...this.finishing]);
  }

  /** Stops, leaving every partial object checkpointed for the next run. */
  async stop(): Promise<void> {
    await this.settle();
    for (const partial of this.partials.values()) {
      await partial.checkpoint();
      await partial.closeIdle().catch(() => undefined);
    }
  }
}
