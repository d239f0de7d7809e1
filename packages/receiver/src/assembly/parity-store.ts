/**
 * Parity shards of the blocks of one object that still lack data. Shards of a block are dropped as
 * soon as its data is complete (arrived or rebuilt), and all of them when the object finishes or
 * goes quiet; the receiver counts them against its byte budget (--max-buffer).
 */
export class ParityStore {
  private readonly blocks = new Map<number, Map<number, Buffer>>();
  private bytes = 0;

  has(block: number, index: number): boolean {
    return this.blocks.get(block)?.has(index) ?? false;
  }

  add(block: number, index: number, shard: Buffer): void {
    let shards = this.blocks.get(block);
    if (!shards) this.blocks.set(block, (shards = new Map()));
    shards.set(index, shard);
    this.bytes += shard.length;
  }

  /** Shards of a block by FEC index (undefined if none). */
  get(block: number): ReadonlyMap<number, Buffer> | undefined {
    return this.blocks.get(block);
  }

  count(block: number): number {
    return this.blocks.get(block)?.size ?? 0;
  }

  /** Forgets a block's shards; returns the bytes freed. */
  release(block: number): number {
    const shards = this.blocks.get(block);
    if (!shards) return 0;
    this.blocks.delete(block);
    let bytes = 0;
    for (const s of shards.values()) bytes += s.length;
    this.bytes -= bytes;
    return bytes;
  }

  /** Forgets every shard; returns the bytes freed. */
  clear(): number {
    const bytes = this.bytes;
    this.blocks.clear();
    this.bytes = 0;
    return bytes;
  }
}
