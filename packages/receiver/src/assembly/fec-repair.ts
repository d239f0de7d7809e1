import { fecBlockCount, fecParityCount, fecRebuild, fecShardSize, type Frame } from '@diodesync/protocol';
import type { ReceiverCounters } from '../counters.js';
import { log } from '../log.js';
import type { ByteBudget } from './byte-budget.js';
import type { PartialObject } from './partial-object.js';

/** A data chunk rebuilt from parity. */
export interface RebuiltChunk {
  chunk: number;
  payload: Buffer;
}

/**
 * Forward error correction at the receiver. Input: parity frames for objects being assembled
 * (chunk index = block index, FEC index = k' + j; see superframe.ts). Parity is held, within its
 * share of the byte budget, only for blocks that still lack data. Output: once a block holds K of
 * its K+M shards, `rebuild` returns its missing data chunks, which the assembler takes in like any
 * other chunk; nothing here calls back into the assembler.
 */
export class FecRepair {
  constructor(
    private readonly counters: ReceiverCounters,
    /** Parity may hold at most a share of the buffer: under pressure, data must still get in. */
    private readonly budget: ByteBudget,
  ) {}

  /** Holds a parity frame of an object being assembled; false if it is refused, not needed, or there is no memory. */
  hold(partial: PartialObject, { header: h, payload }: Frame): boolean {
    const { fec } = partial;
    const block = h.chunkIndex;
    // Layout from another session's header (the same content sent with other FEC settings): unusable here.
    if (fec.k === 0 || h.fecK !== fec.k || h.fecM !== fec.m || block >= fecBlockCount(fec, partial.header.chunkCount)) {
      this.counters.badChunk++;
      return false;
    }
    const state = partial.blockState(block);
    const shard = h.fecIndex - state.count;
    if (shard < 0 || shard >= fecParityCount(fec, state.count) || payload.length !== fecShardSize(partial.chunkLength(state.first))) {
      this.counters.badChunk++;
      return false;
    }
    if (state.present === state.count) {
      this.counters.fecParityUnneeded++;
      return false;
    }
    if (partial.parity.has(block, h.fecIndex)) {
      this.counters.duplicateChunks++;
      return false;
    }
    if (!this.budget.take(payload.length)) {
      this.counters.queueOverflow++;
      return false;
    }
    partial.parity.add(block, h.fecIndex, Buffer.from(payload)); // a copy: the payload may be a view into a reused receive slot
    return true;
  }

  /** True if `block` can be rebuilt now; drops the parity of a block whose data is complete. */
  due(partial: PartialObject, block: number): boolean {
    const held = partial.parity.count(block);
    if (held === 0 || partial.repairing.has(block)) return false;
    const state = partial.blockState(block);
    if (state.present === state.count) {
      this.release(partial, block);
      return false;
    }
    return state.present + held >= state.count;
  }

  /**
   * Reads the block's chunks back from the temp file and rebuilds the missing ones. A rebuild
   * that fails (read error, codec error) is counted and logged, its parity dropped, and returns
   * nothing: the block waits for the next pass.
   */
  async rebuild(partial: PartialObject, block: number): Promise<RebuiltChunk[]> {
    try {
      const { first, count } = partial.blockState(block);
      const shards = partial.parity.get(block)!;
      const parity = Array.from({ length: fecParityCount(partial.fec, count) }, (_, j) => shards.get(count + j));
      const data = await partial.readChunks(first, count);
      const rebuilt = await fecRebuild(data, parity, fecShardSize(partial.chunkLength(first)));
      // Copies: the codec's buffer holds the whole block, which should not stay pinned until written.
      return [...rebuilt].map(([i, shard]) => ({ chunk: first + i, payload: Buffer.from(shard.subarray(0, partial.chunkLength(first + i))) }));
    } catch (err) {
      this.counters.fecRepairFailed++;
      this.release(partial, block);
      log('fec-repair-failed', { path: partial.header.path || '(manifest)', block, error: (err as Error).message });
      return [];
    }
  }

  /** Forgets a block's parity (its data is complete, or the memory is needed). */
  release(partial: PartialObject, block: number): void {
    this.budget.give(partial.parity.release(block));
  }

  /** Forgets all parity of an object (it is complete, gone, or quiet). */
  clear(partial: PartialObject): void {
    this.budget.give(partial.parity.clear());
  }
}
