import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import * as path from 'node:path';
import {
  FrameType, ProtocolError, decodeManifest, type FrameAuthenticator,
  printablePath, type Change, type Frame, type Heartbeat, type ObjectHeader,
} from '@diodesync/protocol';
import type { ChangeApplier } from './placement/change-applier.js';
import { ByteBudget } from './assembly/byte-budget.js';
import { FecRepair } from './assembly/fec-repair.js';
import { newCounters, type ReceiverCounters } from './counters.js';
import type { DestTree } from './placement/dest-tree.js';
import type { ResourceLimits } from './assembly/limits.js';
import { Admission } from './assembly/admission.js';
import { ObjectTable, contentId, wireIdOf } from './assembly/object-table.js';
import { log } from './log.js';
import { OrphanBuffer } from './assembly/orphan-buffer.js';
import { PartialObject, type WriteEvents } from './assembly/partial-object.js';
import { FrameIntake } from './ingest/frame-intake.js';
import type { SyncTracker } from './placement/sync-tracker.js';

export interface ReceiverConfig {
  stateDir: string;
  /** --max-buffer: bytes accepted but not yet on disk; beyond this, new chunks are dropped (and come again next pass). */
  maxBuffer: number;
  /** Objects assembled at once; beyond this, new object headers are dropped. */
  maxPartials: number;
  /** A partial object that gets no chunk for this long is removed and reported (default 24 h). */
  partialTtlMs?: number;
  /** --portable-names: refuse names that Windows cannot hold. */
  portableNames?: boolean;
  /** --key-file (twice during a rotation): every frame must carry a tag one of these keys verifies. */
  keys?: readonly FrameAuthenticator[];
  /** --encrypt: frames that are only authenticated are refused too. */
  requireEncryption?: boolean;
  /** --max-file-size, --max-files, --min-free. */
  limits: ResourceLimits;
  /** Called each time the mirror matches the latest manifest. */
  onSynced?: () => void;
  /** Called after each manifest has been compared with the mirror. */
  onManifest?: () => void;
  /** Applies delete and rename announcements; without it they are counted as unsupported. */
  changes?: ChangeApplier;
  /** Called for each valid heartbeat of the newest sender session (the link watchdog listens). */
  onHeartbeat?: (sessionId: number, heartbeat: Heartbeat) => void;
}

const IDLE_CLOSE_MS = 5_000;
const DAY_MS = 86_400_000;
const ORPHAN_MAX_AGE_MS = 5_000;
/** Maintenance runs every 200 ms; checkpoints (and free-space checks) every second. */
const CHECKPOINT_EVERY_TICKS = 5;
/** Expired partials kept for the report. */
const MAX_EXPIRED_LISTED = 1_000;

/**
 * The receiving pipeline after the transport: validates each frame, routes chunks to the
 * object they belong to, verifies completed objects and places them in the mirror.
 */
export class Receiver {
  readonly counters: ReceiverCounters = newCounters();
  private readonly table = new ObjectTable();
  private readonly partials = this.table.partials;
  private readonly admission: Admission;
  readonly intake: FrameIntake;
  /** Chunks not yet on disk plus parity held: what --max-buffer bounds. */
  readonly budget: ByteBudget;
  private readonly fec: FecRepair;
  private readonly partialDir: string;
  private readonly maintenance: NodeJS.Timeout;
  private readonly finishing = new Set<Promise<void>>();
  private ticks = 0;
  private changes: Promise<void> = Promise.resolve();
  private relieving = false;
  private readonly orphans: OrphanBuffer;
  /** Frames for objects under verification, by content id: if the object fails, they start it again. */
  private readonly awaitingVerdict: OrphanBuffer;
  /** Partial objects given up after --partial-ttl, for the report. */
  readonly expired: { path: string; at: string; chunks: number; of: number }[] = [];
  /** Regular files in the mirror, counted at start and kept up to date, for --max-files. */
  private filesInMirror = 0;

  constructor(
    private readonly config: ReceiverConfig,
    private readonly dest: DestTree,
    readonly sync: SyncTracker,
  ) {
    this.partialDir = path.join(config.stateDir, 'partial');
    this.budget = new ByteBudget(config.maxBuffer);
    // Parity may hold at most a quarter of the buffer: under pressure, data must still get in.
    this.fec = new FecRepair(this.counters, this.budget.share(config.maxBuffer / 4));
    this.orphans = new OrphanBuffer(Math.min(8 * 1024 * 1024, config.maxBuffer / 4), ORPHAN_MAX_AGE_MS);
    this.awaitingVerdict = new OrphanBuffer(Math.min(8 * 1024 * 1024, config.maxBuffer / 4), ORPHAN_MAX_AGE_MS);
    this.admission = new Admission(config, this.counters, sync, () => this.filesInMirror);
    this.intake = new FrameIntake(this.counters, config, {
      knowsHeader: (frame) => this.knowsHeader(frame),
      objectHeader: (frame, header) => this.onObjectHeader(frame, header),
      data: (frame) => this.onData(frame),
      parity: (frame) => this.onParity(frame),
      heartbeat: config.onHeartbeat,
      change: config.changes && ((change) => this.onChange(config.changes!, change)),
    });
    this.maintenance = setInterval(() => this.maintain(), 200);
    this.maintenance.unref();
  }

  /** Picks up the partial objects an earlier run checkpointed; anything unreadable there is removed. */
  async init(): Promise<void> {
    await mkdir(this.partialDir, { recursive: true });
    const names = await readdir(this.partialDir);
    for (const name of names.filter((n) => n.endsWith('.part'))) {
      const id = name.slice(0, -'.part'.length);
      const tempPath = path.join(this.partialDir, name);
      try {
        const partial = await PartialObject.restore(tempPath, this.writeEvents(id));
        this.partials.set(id, partial);
        this.counters.partialsRestored++;
      } catch {
        await rm(tempPath, { force: true });
      }
    }
    // Checkpoints without a temp file, and half-written checkpoints.
    for (const name of names) {
      if (!name.endsWith('.part') && !this.partials.has(name.replace(/\.meta(\.tmp)?$/, ''))) {
        await rm(path.join(this.partialDir, name), { force: true });
      }
    }
    if (this.partials.size > 0) log('partials-restored', { objects: this.partials.size });
    this.filesInMirror = await this.dest.countFiles();
    await this.admission.refresh();
  }

  /** A partial's writes: bytes leaving memory, and failures (logged once per object, kept in the report). */
  private writeEvents(id: string): WriteEvents {
    let logged = false;
    return {
      written: (bytes) => this.budget.give(bytes),
      failed: (err) => {
        this.counters.writeErrors++;
        const path = this.partials.get(id)?.header.path;
        if (path) this.sync.noteProblem(path, `write failed: ${err.code ?? err.message}`);
        if (logged) return;
        logged = true;
        log('write-failed', { path: path ? printablePath(path) : '(manifest)', error: err.code ?? err.message, keep: 'partial kept: the next pass brings the missing chunks' });
      },
    };
  }

  private newPartial(id: string, header: ObjectHeader): PartialObject {
    const partial = new PartialObject(header, path.join(this.partialDir, `${id}.part`), this.writeEvents(id));
    this.partials.set(id, partial);
    return partial;
  }

  /** One datagram = one superframe. */
  handleDatagram(datagram: Buffer): void {
    this.intake.datagram(datagram);
  }

  handleFrame(frame: Frame): void {
    this.intake.frame(frame);
  }

  get sequences() {
    return this.intake.sequences;
  }

  get sessions() {
    return this.intake.sessions;
  }

  /** A copy of a header whose object is complete or under way. */
  private knowsHeader({ header: h }: Frame): boolean {
    const known = this.table.idOf(wireIdOf(h));
    return known !== undefined && this.table.knows(known);
  }

  private onObjectHeader({ header: h }: Frame, header: ObjectHeader): void {
    const wireId = wireIdOf(h);
    if (this.admission.refusesPath(header)) return;
    const id = contentId(header);
    if (this.table.isCompleted(id) || (header.kind === 'file' && this.sync.holds(header))) {
      this.table.markCompleted(id, header);
    } else if (!this.partials.has(id)) {
      if (this.admission.busy(header, this.partials.size, this.finishing.size)) return;
      if (!this.admission.withinLimits(header, this.partials)) return;
      const partial = this.newPartial(id, header);
      if (header.chunkCount === 0) this.finish(id, partial);
      else if (header.kind === 'file') void this.skipIfInPlace(id, partial);
    }
    this.table.remember(wireId, id);
    for (const early of this.orphans.take(wireId)) this.onData(early);
  }

  private onData(frame: Frame): void {
    const { header: h, payload } = frame;
    const wireId = wireIdOf(h);
    const id = this.table.idOf(wireId);
    if (id === undefined) {
      if (!this.orphans.hold(wireId, frame)) this.counters.orphanData++;
      return;
    }
    const partial = this.partials.get(id);
    if (!partial || partial.complete || partial.verifying) {
      if (!partial || !this.awaitingVerdict.hold(id, frame)) this.counters.duplicateChunks++;
      return;
    }
    const chunk = h.chunkIndex;
    if (chunk >= partial.header.chunkCount || payload.length !== partial.chunkLength(chunk)) {
      this.counters.badChunk++;
      return;
    }
    if (partial.has(chunk)) {
      this.counters.duplicateChunks++;
      return;
    }
    if (!this.accept(id, partial, chunk, payload)) return;
    // Data after parity (reordering, or a later pass): the block may now be complete or repairable.
    if (partial.fec.k > 0) this.checkBlock(id, partial, Math.floor(chunk / partial.fec.k));
  }

  /** Takes a new chunk into its object if memory allows; finishes the object when it is complete. */
  private accept(id: string, partial: PartialObject, chunk: number, payload: Buffer): boolean {
    if (!this.budget.take(payload.length)) {
      this.counters.queueOverflow++;
      return false;
    }
    partial.add(chunk, payload);
    if (partial.complete) this.finish(id, partial);
    else if (this.budget.pressed) this.relievePressure();
    return true;
  }

  /** Parity: chunk index = block index, FEC index = k' + j (see superframe.ts). */
  private onParity(frame: Frame): void {
    const id = this.table.idOf(wireIdOf(frame.header));
    if (id === undefined) {
      this.counters.orphanData++;
      return;
    }
    const partial = this.partials.get(id);
    if (!partial || partial.complete || partial.verifying) {
      if (!partial || !this.awaitingVerdict.hold(id, frame)) this.counters.fecParityUnneeded++;
      return;
    }
    if (this.fec.hold(partial, frame)) this.checkBlock(id, partial, frame.header.chunkIndex);
  }

  /** The mirror lost this file (an operator removed it): accept its data again. */
  forgetCompleted(path: string): void {
    this.table.forgetCompleted(path);
  }

  /** Memory is filling: start the writes of every object now rather than at the next tick. */
  private relievePressure(): void {
    if (this.relieving) return;
    this.relieving = true;
    setImmediate(() => {
      this.relieving = false;
      for (const partial of this.partials.values()) partial.flush();
    });
  }

  /** Drops the parity of a block whose data is complete, or rebuilds it once K of its shards are here. */
  private checkBlock(id: string, partial: PartialObject, block: number): void {
    if (this.fec.due(partial, block)) void this.repair(id, partial, block);
  }

  /** Takes in the chunks FEC rebuilt from what is on disk and the parity held, as if they had arrived. */
  private async repair(id: string, partial: PartialObject, block: number): Promise<void> {
    partial.repairing.add(block);
    try {
      const rebuilt = await this.fec.rebuild(partial, block);
      if (this.partials.get(id) !== partial || partial.complete || partial.verifying) return;
      let repaired = 0;
      for (const { chunk, payload } of rebuilt) {
        if (partial.has(chunk)) continue; // arrived while we rebuilt
        if (!this.accept(id, partial, chunk, payload)) {
          this.fec.release(partial, block); // no memory now: the next pass brings it again
          break;
        }
        repaired++;
      }
      this.counters.fecRepairedChunks += repaired;
      if (repaired > 0) this.counters.fecBlocksRepaired++;
    } finally {
      partial.repairing.delete(block);
      if (this.partials.get(id) === partial) this.checkBlock(id, partial, block);
    }
  }

  /** A mirror that already holds this version (a receiver restart, a second run) needs none of its data. */
  private async skipIfInPlace(id: string, partial: PartialObject): Promise<void> {
    const inPlace = await this.sync.isInPlace(partial.header).catch(() => false);
    if (!inPlace || this.partials.get(id) !== partial || partial.complete || partial.verifying) return;
    this.table.markCompleted(id, partial.header);
    await this.drop(id, partial);
  }

  /** Deletes and renames run in arrival order, after the placements already under way. */
  private onChange(applier: ChangeApplier, change: Change): void {
    this.changes = this.changes.then(async () => {
      await this.settle();
      const outcome = await applier.apply(change).catch((err: Error) => {
        log('change-failed', { op: change.op, path: change.path, error: err.message });
        return 'failed' as const;
      });
      if (outcome === 'repeat') return;
      this.counters.changes[outcome]++;
      log(`change-${outcome}`, { op: change.op, path: change.path, to: change.to || undefined });
      if (outcome === 'deleted' || outcome === 'renamed') this.forgetCompleted(change.path);
      if (outcome === 'deleted') this.filesInMirror--;
      if (outcome === 'renamed' || outcome === 'copied') this.sync.placedByChange(change.to);
    });
  }

  private finish(id: string, partial: PartialObject): void {
    this.fec.clear(partial);
    partial.verifying = true;
    const done = this.verifyAndPlace(id, partial).finally(() => {
      partial.verifying = false;
      this.finishing.delete(done);
    });
    this.finishing.add(done);
  }

  private async verifyAndPlace(id: string, partial: PartialObject): Promise<void> {
    const { header } = partial;
    try {
      const sha256 = await partial.finish();
      if (!sha256) {
        // A write failed (logged by the partial): keep what is on disk, let the next pass fill the rest.
        partial.verifying = false;
        this.replayHeld(id);
        return;
      }
      if (!sha256.equals(header.sha256)) {
        this.counters.verifyFailed++;
        log('verify-failed', { path: header.path ? printablePath(header.path) : '(manifest)' });
        if (header.path) this.sync.noteProblem(header.path, 'verify failed: SHA-256 differs (a corrupt or forged chunk); fetched again');
        // Still listed while its file goes, so that frames arriving meanwhile are held for the new copy.
        await partial.discard();
        this.partials.delete(id);
        this.startAgain(id, header);
        return;
      }
      if (header.kind === 'manifest') {
        const manifest = decodeManifest(await readFile(partial.tempPath));
        await this.drop(id, partial);
        this.counters.manifests++;
        await this.sync.applyManifest(manifest);
        log('manifest', { files: manifest.files.length, pass: manifest.pass, missing: this.sync.pendingCount });
        this.config.onManifest?.();
      } else if (await this.sync.isInPlace(header)) {
        // Already there, byte for byte: leave the mirror's file (and its inode) alone.
        this.table.markCompleted(id, header);
        await this.drop(id, partial);
      } else {
        if (await this.dest.place(partial.tempPath, header.path, header)) this.filesInMirror++;
        await partial.forgetCheckpoint();
        this.partials.delete(id);
        this.counters.duplicateChunks += this.awaitingVerdict.take(id).length;
        this.table.markCompleted(id, header);
        this.counters.filesCompleted++;
        this.sync.placed(header.path, header.size, header.mtimeMs, header.sha256);
      }
      if (this.sync.synced) this.config.onSynced?.();
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (err instanceof ProtocolError) this.counters.badMessage++;
      else {
        this.counters.writeErrors++;
        log('write-failed', { path: header.path ? printablePath(header.path) : '(manifest)', error: e.code ?? e.message });
        if (header.path) this.sync.noteProblem(header.path, `write failed: ${e.code ?? e.message}`);
      }
      await this.drop(id, partial);
    }
  }

  /** Frames that came while an object was being verified go to it now (it needs them again). */
  private replayHeld(id: string): void {
    for (const frame of this.awaitingVerdict.take(id)) frame.header.type === FrameType.Parity ? this.onParity(frame) : this.onData(frame);
  }

  /**
   * A corrupt chunk (forged, or a CRC collision) spoilt the object: the frames of the next pass
   * that came while it was being verified start a fresh copy, rather than being lost as duplicates.
   */
  private startAgain(id: string, header: ObjectHeader): void {
    const held = this.awaitingVerdict.take(id);
    if (held.length === 0 || this.partials.has(id) || !this.admission.withinLimits(header, this.partials)) {
      this.counters.duplicateChunks += held.length;
      return;
    }
    this.newPartial(id, header);
    for (const frame of held) frame.header.type === FrameType.Parity ? this.onParity(frame) : this.onData(frame);
  }

  /** Forgets an object so that the next pass starts it afresh. */
  private async drop(id: string, partial: PartialObject): Promise<void> {
    this.counters.duplicateChunks += this.awaitingVerdict.take(id).length;
    this.partials.delete(id);
    this.fec.clear(partial);
    await partial.discard();
  }

  /** Pushes buffered runs to disk and closes descriptors of objects that went quiet. */
  private maintain(): void {
    const now = Date.now();
    this.counters.orphanData += this.orphans.expire(now);
    this.counters.duplicateChunks += this.awaitingVerdict.expire(now);
    const checkpoint = ++this.ticks % CHECKPOINT_EVERY_TICKS === 0;
    if (checkpoint) void this.config.limits.refresh().catch(() => undefined);
    for (const [id, partial] of this.partials) {
      if (partial.complete || partial.verifying) continue;
      if (now - partial.lastActivity > (this.config.partialTtlMs ?? DAY_MS)) {
        this.counters.partialsExpired++;
        if (this.expired.length >= MAX_EXPIRED_LISTED) this.expired.shift();
        this.expired.push({ path: partial.header.path, at: new Date(now).toISOString(), chunks: partial.received, of: partial.header.chunkCount });
        log('partial-expired', { path: printablePath(partial.header.path), chunks: partial.received, of: partial.header.chunkCount });
        if (partial.header.path) this.sync.noteProblem(partial.header.path, `expired after --partial-ttl with ${partial.received} of ${partial.header.chunkCount} chunks`);
        void this.drop(id, partial);
      } else if (now - partial.lastActivity > IDLE_CLOSE_MS) {
        // Its pass is over: parity it still holds cannot be completed before the next pass resends it.
        this.fec.clear(partial);
        void partial.checkpoint().then(() => partial.closeIdle());
      } else if (checkpoint) void partial.checkpoint();
      else partial.flush();
    }
  }

  /** Objects still being assembled, for status and the report. */
  partialSummary(): { path: string; chunks: number; of: number; idleSeconds: number }[] {
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
  async close(): Promise<void> {
    clearInterval(this.maintenance);
    await this.settle();
    for (const partial of this.partials.values()) {
      await partial.checkpoint();
      await partial.closeIdle().catch(() => undefined);
    }
  }
}
