import { FrameType, type Frame } from '@diodesync/protocol';
import type { ReceiverCounters } from '../counters.js';
import type { ByteBudget } from './byte-budget.js';
import { FecRepair } from './fec-repair.js';
import { wireIdOf, type ObjectTable } from './object-table.js';
import { OrphanBuffer } from './orphan-buffer.js';
import type { PartialObject } from './partial-object.js';

const ORPHAN_MAX_AGE_MS = 5_000;

/**
 * Routes data and parity frames to the object they belong to. Input: data and parity frames.
 * Output: chunks added to their partial object (which writes them to its temp file), and each
 * object that becomes complete, to `complete`. A chunk is taken only if the byte budget allows;
 * frames that come before their header, or while their object is being verified, wait briefly;
 * lost chunks are rebuilt from parity (FecRepair) and taken in like any other.
 */
export class ChunkRouter {
  private readonly fec: FecRepair;
  /** Data frames that came before their object header, by wire id. */
  private readonly orphans: OrphanBuffer;
  /** Frames for objects under verification, by content id: if the object fails, they start it again. */
  private readonly awaitingVerdict: OrphanBuffer;
  private relieving = false;

  constructor(
    private readonly table: ObjectTable,
    private readonly budget: ByteBudget,
    private readonly counters: ReceiverCounters,
    private readonly complete: (id: string, partial: PartialObject) => void,
  ) {
    // Parity may hold at most a quarter of the buffer: under pressure, data must still get in.
    this.fec = new FecRepair(counters, budget.share(budget.limit / 4));
    this.orphans = new OrphanBuffer(Math.min(8 * 1024 * 1024, budget.limit / 4), ORPHAN_MAX_AGE_MS);
    this.awaitingVerdict = new OrphanBuffer(Math.min(8 * 1024 * 1024, budget.limit / 4), ORPHAN_MAX_AGE_MS);
  }

  data(frame: Frame): void {
    const { header: h, payload } = frame;
    const id = this.table.idOfFrame(h);
    if (id === undefined) {
      if (!this.orphans.hold(wireIdOf(h), frame)) this.counters.orphanData++;
      return;
    }
    const partial = this.table.partials.get(id);
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
    if (partial.fec.k > 0) this.checkBlock(partial, Math.floor(chunk / partial.fec.k));
  }

  /** Parity: chunk index = block index, FEC index = k' + j (see superframe.ts). */
  parity(frame: Frame): void {
    const id = this.table.idOfFrame(frame.header);
    if (id === undefined) {
      this.counters.orphanData++;
      return;
    }
    const partial = this.table.partials.get(id);
    if (!partial || partial.complete || partial.verifying) {
      if (!partial || !this.awaitingVerdict.hold(id, frame)) this.counters.fecParityUnneeded++;
      return;
    }
    if (this.fec.hold(partial, frame)) this.checkBlock(partial, frame.header.chunkIndex);
  }

  /** The data frames that came before the header of `wireId`, now that it is known. */
  releaseOrphans(wireId: string): void {
    for (const early of this.orphans.take(wireId)) this.data(early);
  }

  /** The frames held while object `id` was being verified; they leave the buffer. */
  takeHeld(id: string): Frame[] {
    return this.awaitingVerdict.take(id);
  }

  /** Routes frames again (held ones, once their object can take them). */
  replay(frames: Frame[]): void {
    for (const frame of frames) frame.header.type === FrameType.Parity ? this.parity(frame) : this.data(frame);
  }

  /** Forgets all parity of an object (it is complete, gone, or quiet). */
  clearParity(partial: PartialObject): void {
    this.fec.clear(partial);
  }

  /** Drops what waited too long, and counts it. */
  expire(now: number): void {
    this.counters.orphanData += this.orphans.expire(now);
    this.counters.duplicateChunks += this.awaitingVerdict.expire(now);
  }

  /** Takes a new chunk into its object if memory allows; hands the object on when it is complete. */
  private accept(id: string, partial: PartialObject, chunk: number, payload: Buffer): boolean {
    if (!this.budget.take(payload.length)) {
      this.counters.queueOverflow++;
      return false;
    }
    partial.add(chunk, payload);
    if (partial.complete) this.complete(id, partial);
    else if (this.budget.pressed) this.relievePressure();
    return true;
  }

  /** Memory is filling: start the writes of every object now rather than at the next tick. */
  private relievePressure(): void {
    if (this.relieving) return;
    this.relieving = true;
    setImmediate(() => {
      this.relieving = false;
      for (const partial of this.table.partials.values()) partial.flush();
    });
  }

  /** Drops the parity of a block whose data is complete, or rebuilds it once K of its shards are here. */
  private checkBlock(partial: PartialObject, block: number): void {
    if (this.fec.due(partial, block)) void this.repair(partial, block);
  }

  /**
   * Takes in the chunks FEC rebuilt from what is on disk and the parity held, as if they had
   * arrived. The object's id is taken again once they are: an object whose hash came meanwhile is
   * known by its content now.
   */
  private async repair(partial: PartialObject, block: number): Promise<void> {
    partial.repairing.add(block);
    try {
      const rebuilt = await this.fec.rebuild(partial, block);
      const id = this.table.idOfPartial(partial);
      if (id === undefined || partial.complete || partial.verifying) return;
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
      if (this.table.idOfPartial(partial) !== undefined) this.checkBlock(partial, block);
    }
  }
}
