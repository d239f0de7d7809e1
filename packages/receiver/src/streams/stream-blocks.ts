import { FEC_MAX_K, StreamKind, rebuildStreamBlock, type StreamRecord } from '@diodesync/protocol';

/** One FEC block of a channel: the raw records seen (sources for a rebuild) and its parity, once known. */
interface Block {
  records: (Buffer | undefined)[];
  parity: (Buffer | undefined)[];
  /** From its parity: data records k' and parity records m'. */
  k?: number;
  m?: number;
  repairing: boolean;
}

/**
 * A channel's FEC blocks (keyed by their first sequence number). Input: every data record (raw,
 * as the rebuild needs it) and every parity record. Output: rebuilt records, through `rebuilt`,
 * as soon as a block has k' of its k' + m' shards. Blocks wholly before the delivery point are
 * forgotten: the table holds what the reorder window holds, no more.
 */
export class StreamBlocks {
  private readonly blocks = new Map<number, Block>();
  /** The first sequence of the newest block whose parity came (-1: none yet). */
  private newestCoded = -1;
  /** Blocks being rebuilt now. */
  private repairs = 0;
  /** `next` at the last forgetBefore: while a gap waits, every arrival asks again, and nothing new can be forgotten. */
  private forgotAt = -1;

  constructor(
    private readonly channel: string,
    private readonly rebuilt: (records: StreamRecord[]) => void,
    private readonly failed: (err: Error) => void,
  ) {}

  get size(): number {
    return this.blocks.size;
  }

  data(record: StreamRecord, raw: Buffer, wanted: (sequence: number) => boolean): void {
    const start = record.sequence - record.fecIndex;
    const block = this.block(start);
    block.records[record.fecIndex] = raw;
    this.tryRepair(start, block, wanted);
  }

  /** False if the parity does not fit what the block already holds (a forgery or a bug): the caller counts it. */
  parity(record: StreamRecord, wanted: (sequence: number) => boolean): boolean {
    const start = record.sequence;
    const block = this.block(start);
    if (block.k !== undefined && (block.k !== record.fecCount || block.m !== record.parityCount)) return false;
    if (block.records.length > record.fecCount) return false;
    const size = block.parity.find((p) => p)?.length;
    if (size !== undefined && size !== record.data.length) return false;
    block.k = record.fecCount;
    block.m = record.parityCount;
    if (start > this.newestCoded) this.newestCoded = start;
    block.parity[record.fecIndex - record.fecCount] = record.data;
    this.tryRepair(start, block, wanted);
    return true;
  }

  /** A repair is under way for the block holding `sequence`: its gap must wait for it. */
  repairing(sequence: number): boolean {
    if (this.repairs === 0) return false;
    for (const [start, b] of this.blocks) if (b.repairing && sequence >= start && sequence < start + (b.k ?? FEC_MAX_K)) return true;
    return false;
  }

  /** Parity of a block after `sequence` arrived: the sender closed the block holding it before, so its own parity has been sent too. */
  parityAfter(sequence: number): boolean {
    return this.newestCoded > sequence;
  }

  /** What the block holding `sequence` had when its gap was given up, for the log line. */
  describe(sequence: number): string {
    for (const [start, b] of this.blocks) {
      if (sequence < start || sequence >= start + (b.k ?? FEC_MAX_K)) continue;
      const records = b.records.filter((r) => r).length;
      const parity = b.parity.filter((p) => p).length;
      return b.k === undefined ? `from ${start}: ${records} records, no parity` : `from ${start}: ${records} of ${b.k} records, ${parity} of ${b.m} parity`;
    }
    return 'none';
  }

  /** Forgets the blocks whose records all lie before `next` (delivered or given up). */
  forgetBefore(next: number): void {
    if (next === this.forgotAt && this.repairs === 0) return;
    this.forgotAt = next;
    for (const [start, b] of this.blocks) {
      if (!b.repairing && start + (b.k ?? FEC_MAX_K) <= next) this.blocks.delete(start);
    }
  }

  private block(start: number): Block {
    let b = this.blocks.get(start);
    if (!b) this.blocks.set(start, (b = { records: [], parity: [], repairing: false }));
    return b;
  }

  private tryRepair(start: number, block: Block, wanted: (sequence: number) => boolean): void {
    const { k, m } = block;
    if (k === undefined || m === undefined || block.repairing) return;
    let present = 0;
    let missing = 0;
    for (let i = 0; i < k; i++) {
      if (block.records[i]) present++;
      else if (wanted(start + i)) missing++;
    }
    const parityPresent = block.parity.filter((p) => p).length;
    if (missing === 0 || present + parityPresent < k) return;
    block.repairing = true;
    this.repairs++;
    const records = Array.from({ length: k }, (_, i) => block.records[i]);
    const parity = Array.from({ length: m }, (_, j) => block.parity[j]);
    rebuildStreamBlock(records, parity).then(
      (map) => {
        block.repairing = false;
        this.repairs--;
        const out: StreamRecord[] = [];
        for (const [i, r] of map) {
          // A rebuilt record must be the one that was lost: same channel, same place.
          if (r.channel === this.channel && r.sequence === start + i && r.fecIndex === i && r.kind !== StreamKind.Parity) out.push(r);
        }
        this.rebuilt(out);
      },
      (err: Error) => {
        block.repairing = false;
        this.repairs--;
        this.failed(err);
      },
    );
  }
}
