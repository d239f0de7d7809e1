import { createHash } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import * as path from 'node:path';
import {
  FrameType, ProtocolError, decodeDatagram, decodeHeartbeat, decodeManifest, decodeObjectHeader,
  fecBlockCount, fecParityCount, fecRebuild, fecShardSize,
  type Frame, type ObjectHeader,
} from '@diodesync/protocol';
import { newCounters, type ReceiverCounters } from './counters.js';
import type { DestTree } from './dest-tree.js';
import { log } from './log.js';
import { PartialObject } from './partial-object.js';
import { unsafePathReason } from './paths.js';
import type { SyncTracker } from './sync-tracker.js';

export interface ReceiverConfig {
  stateDir: string;
  /** Bytes accepted but not yet on disk; beyond this, new chunks are dropped (and come again next pass). */
  maxBufferedBytes: number;
  /** Objects assembled at once; beyond this, new object headers are dropped. */
  maxPartials: number;
  /** Called each time the mirror matches the latest manifest. */
  onSynced?: () => void;
  /** Called after each manifest has been compared with the mirror. */
  onManifest?: () => void;
}

const IDLE_CLOSE_MS = 5_000;

/**
 * The receiving pipeline after the transport: validates each frame, routes chunks to the
 * object they belong to, verifies completed objects and places them in the mirror.
 */
export class Receiver {
  readonly counters: ReceiverCounters = newCounters();
  /** "session:objectId" from the wire -> content id (objects of several sessions may share one). */
  private readonly wireIds = new Map<string, string>();
  private readonly partials = new Map<string, PartialObject>();
  private readonly completed = new Set<string>();
  private readonly sessions = new Map<number, { host: string; lastHeartbeat: number }>();
  private bufferedBytes = 0;
  private readonly partialDir: string;
  private readonly maintenance: NodeJS.Timeout;
  private readonly finishing = new Set<Promise<void>>();

  constructor(
    private readonly config: ReceiverConfig,
    private readonly dest: DestTree,
    readonly sync: SyncTracker,
  ) {
    this.partialDir = path.join(config.stateDir, 'partial');
    this.maintenance = setInterval(() => this.maintain(), 200);
    this.maintenance.unref();
  }

  async init(): Promise<void> {
    // Partial files of an earlier run carry no chunk map yet: start them over.
    await rm(this.partialDir, { recursive: true, force: true });
    await mkdir(this.partialDir, { recursive: true });
  }

  /** One datagram = one superframe. */
  handleDatagram(datagram: Buffer): void {
    this.counters.framesReceived++;
    this.counters.bytesReceived += datagram.length;
    const result = decodeDatagram(datagram);
    if (result.ok) this.handleFrame(result.frame);
    else this.counters.framing[result.reason]++;
  }

  handleFrame(frame: Frame): void {
    switch (frame.header.type) {
      case FrameType.ObjectHeader:
        return this.onObjectHeader(frame);
      case FrameType.Data:
        return this.onData(frame);
      case FrameType.Parity:
        return this.onParity(frame);
      case FrameType.Heartbeat:
        return this.onHeartbeat(frame);
      default:
        this.counters.unsupported++;
    }
  }

  private onObjectHeader({ header: h, payload }: Frame): void {
    const wireId = `${h.sessionId}:${h.objectId}`;
    const known = this.wireIds.get(wireId);
    if (known !== undefined && (this.completed.has(known) || this.partials.has(known))) return;
    let header: ObjectHeader;
    try {
      header = decodeObjectHeader(payload);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.counters.badMessage++;
      return;
    }
    if (header.kind === 'file') {
      const reason = unsafePathReason(header.path);
      if (reason) {
        this.counters.badPath++;
        log('path-refused', { path: JSON.stringify(header.path), reason });
        return;
      }
    }
    const id = contentId(header);
    if (this.completed.has(id) || (header.kind === 'file' && this.sync.holds(header))) {
      this.completed.add(id);
      this.wireIds.set(wireId, id);
      return;
    }
    if (!this.partials.has(id)) {
      if (this.partials.size >= this.config.maxPartials) {
        this.counters.tooManyPartials++;
        return;
      }
      const partial = new PartialObject(header, path.join(this.partialDir, `${id}.part`), (bytes) => {
        this.bufferedBytes -= bytes;
      });
      this.partials.set(id, partial);
      if (header.chunkCount === 0) this.finish(id, partial);
      else if (header.kind === 'file') void this.skipIfInPlace(id, partial);
    }
    this.wireIds.set(wireId, id);
  }

  private onData({ header: h, payload }: Frame): void {
    const id = this.wireIds.get(`${h.sessionId}:${h.objectId}`);
    if (id === undefined) {
      this.counters.orphanData++;
      return;
    }
    const partial = this.partials.get(id);
    if (!partial || partial.complete) {
      this.counters.duplicateChunks++;
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
    if (this.bufferedBytes + payload.length > this.config.maxBufferedBytes) {
      this.counters.queueOverflow++;
      return false;
    }
    this.bufferedBytes += payload.length;
    partial.add(chunk, payload);
    if (partial.complete) this.finish(id, partial);
    return true;
  }

  /** Parity: chunk index = block index, FEC index = k' + j (see superframe.ts). */
  private onParity({ header: h, payload }: Frame): void {
    const id = this.wireIds.get(`${h.sessionId}:${h.objectId}`);
    if (id === undefined) {
      this.counters.orphanData++;
      return;
    }
    const partial = this.partials.get(id);
    if (!partial || partial.complete) {
      this.counters.fecParityUnneeded++;
      return;
    }
    const { fec } = partial;
    const block = h.chunkIndex;
    // Layout from another session's header (the same content sent with other FEC settings): unusable here.
    if (fec.k === 0 || h.fecK !== fec.k || h.fecM !== fec.m || block >= fecBlockCount(fec, partial.header.chunkCount)) {
      this.counters.badChunk++;
      return;
    }
    const state = partial.blockState(block);
    const shard = h.fecIndex - state.count;
    if (shard < 0 || shard >= fecParityCount(fec, state.count) || payload.length !== fecShardSize(partial.chunkLength(state.first))) {
      this.counters.badChunk++;
      return;
    }
    if (state.present === state.count) {
      this.counters.fecParityUnneeded++;
      return;
    }
    if (partial.parity.has(block, h.fecIndex)) {
      this.counters.duplicateChunks++;
      return;
    }
    if (this.bufferedBytes + payload.length > this.config.maxBufferedBytes) {
      this.counters.queueOverflow++;
      return;
    }
    this.bufferedBytes += payload.length;
    partial.parity.add(block, h.fecIndex, payload);
    this.checkBlock(id, partial, block);
  }

  /** Drops the parity of a block whose data is complete, or rebuilds it once K of its shards are here. */
  private checkBlock(id: string, partial: PartialObject, block: number): void {
    const held = partial.parity.count(block);
    if (held === 0 || partial.repairing.has(block)) return;
    const state = partial.blockState(block);
    if (state.present === state.count) this.bufferedBytes -= partial.parity.release(block);
    else if (state.present + held >= state.count) void this.repair(id, partial, block);
  }

  /** Reads the block's chunks back from the temp file, rebuilds the missing ones, feeds them in as if they had arrived. */
  private async repair(id: string, partial: PartialObject, block: number): Promise<void> {
    partial.repairing.add(block);
    try {
      const { first, count } = partial.blockState(block);
      const shards = partial.parity.get(block)!;
      const parity = Array.from({ length: fecParityCount(partial.fec, count) }, (_, j) => shards.get(count + j));
      const data = await partial.readChunks(first, count);
      const rebuilt = await fecRebuild(data, parity, fecShardSize(partial.chunkLength(first)));
      if (this.partials.get(id) !== partial || partial.complete) return;
      let repaired = 0;
      for (const [i, shard] of rebuilt) {
        const chunk = first + i;
        if (partial.has(chunk)) continue; // arrived while we rebuilt
        // A copy: the codec's buffer holds the whole block, which should not stay pinned until written.
        if (!this.accept(id, partial, chunk, Buffer.from(shard.subarray(0, partial.chunkLength(chunk))))) {
          this.bufferedBytes -= partial.parity.release(block); // no memory now: the next pass brings it again
          break;
        }
        repaired++;
      }
      this.counters.fecRepairedChunks += repaired;
      if (repaired > 0) this.counters.fecBlocksRepaired++;
    } catch (err) {
      this.counters.fecRepairFailed++;
      this.bufferedBytes -= partial.parity.release(block);
      log('fec-repair-failed', { path: partial.header.path || '(manifest)', block, error: (err as Error).message });
    } finally {
      partial.repairing.delete(block);
      if (this.partials.get(id) === partial) this.checkBlock(id, partial, block);
    }
  }

  /** A mirror that already holds this version (a receiver restart, a second run) needs none of its data. */
  private async skipIfInPlace(id: string, partial: PartialObject): Promise<void> {
    const inPlace = await this.sync.isInPlace(partial.header).catch(() => false);
    if (!inPlace || this.partials.get(id) !== partial || partial.complete) return;
    this.completed.add(id);
    await this.drop(id, partial);
  }

  private onHeartbeat({ header: h, payload }: Frame): void {
    try {
      const hb = decodeHeartbeat(payload);
      this.counters.heartbeats++;
      if (!this.sessions.has(h.sessionId)) {
        log('sender-session', { session: h.sessionId.toString(16), host: hb.host, started: new Date(hb.startedAt).toISOString() });
      }
      this.sessions.set(h.sessionId, { host: hb.host, lastHeartbeat: Date.now() });
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.counters.badMessage++;
    }
  }

  private finish(id: string, partial: PartialObject): void {
    this.bufferedBytes -= partial.parity.clear();
    const done = this.verifyAndPlace(id, partial).finally(() => this.finishing.delete(done));
    this.finishing.add(done);
  }

  private async verifyAndPlace(id: string, partial: PartialObject): Promise<void> {
    const { header } = partial;
    try {
      const sha256 = await partial.finish();
      if (!sha256.equals(header.sha256)) {
        this.counters.verifyFailed++;
        log('verify-failed', { path: header.path || '(manifest)' });
        await this.drop(id, partial);
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
        this.completed.add(id);
        await this.drop(id, partial);
      } else {
        await this.dest.place(partial.tempPath, header.path, header.mtimeMs, header.mode);
        this.partials.delete(id);
        this.completed.add(id);
        this.counters.filesCompleted++;
        this.sync.placed(header.path, header.size, header.mtimeMs, header.sha256);
      }
      if (this.sync.synced) this.config.onSynced?.();
    } catch (err) {
      if (err instanceof ProtocolError) this.counters.badMessage++;
      else {
        this.counters.writeErrors++;
        log('write-failed', { path: header.path || '(manifest)', error: (err as Error).message });
      }
      await this.drop(id, partial);
    }
  }

  /** Forgets an object so that the next pass starts it afresh. */
  private async drop(id: string, partial: PartialObject): Promise<void> {
    this.partials.delete(id);
    this.bufferedBytes -= partial.parity.clear();
    await partial.discard();
  }

  /** Pushes buffered runs to disk and closes descriptors of objects that went quiet. */
  private maintain(): void {
    const now = Date.now();
    for (const partial of this.partials.values()) {
      if (partial.complete) continue;
      if (now - partial.lastActivity > IDLE_CLOSE_MS) {
        // Its pass is over: parity it still holds cannot be completed before the next pass resends it.
        this.bufferedBytes -= partial.parity.clear();
        void partial.closeIdle();
      } else partial.flush();
    }
  }

  get partialCount(): number {
    return this.partials.size;
  }

  /** Chunks not yet on disk plus parity held: what --max-buffer bounds. */
  get heldBytes(): number {
    return this.bufferedBytes;
  }

  /** Waits for objects being verified and placed. */
  async settle(): Promise<void> {
    while (this.finishing.size > 0) await Promise.all([...this.finishing]);
  }

  async close(): Promise<void> {
    clearInterval(this.maintenance);
    await this.settle();
    for (const partial of this.partials.values()) await partial.closeIdle().catch(() => undefined);
  }
}

/** Identifies content, not a wire id: a later pass or a restarted sender fills the same partial. */
function contentId(h: ObjectHeader): string {
  return createHash('sha256')
    .update(`${h.kind}\0${h.path}\0${h.size}\0${h.chunkSize}\0`)
    .update(h.sha256)
    .digest('hex')
    .slice(0, 32);
}
