import { FrameType, fecEncode, fecParityCount, fecShardSize, type FecLayout } from '@diodesync/protocol';

/** One frame of an FEC block: a data chunk or a parity shard, with the header fields that place it. */
export interface CodedFrame {
  type: typeof FrameType.Data | typeof FrameType.Parity;
  /** Data: chunk index. Parity: block index. */
  chunkIndex: number;
  /** Position within the block: data 0..k'-1, parity k'..k'+m'-1. */
  fecIndex: number;
  payload: Buffer;
}

/**
 * Cuts the object's bytes into chunks, groups them in FEC blocks and yields them `depth` blocks
 * at a time, each block as its data frames followed by its parity frames. The caller sends a group
 * column by column (interleaving), so a burst of up to `depth` lost frames costs each block at most
 * one. Without FEC every chunk is a block of its own with no parity: plain order, nothing held back.
 * Memory: one group, depth * (K + M) chunks.
 */
export async function* codedGroups(
  blocks: AsyncIterable<Buffer> | Iterable<Buffer>,
  chunkSize: number,
  layout: FecLayout,
  depth: number,
): AsyncGenerator<CodedFrame[][]> {
  const perBlock = layout.k || 1;
  const groupSize = layout.k ? depth : 1;
  let group: CodedFrame[][] = [];
  let data: Buffer[] = [];
  let nextChunk = 0;
  let blockIndex = 0;

  const closeBlock = async (): Promise<void> => {
    const row: CodedFrame[] = data.map((payload, i) => ({ type: FrameType.Data, chunkIndex: nextChunk - data.length + i, fecIndex: i, payload }));
    const parityCount = fecParityCount(layout, data.length);
    if (parityCount > 0) {
      const parity = await fecEncode(data, parityCount, fecShardSize(data[0]!.length));
      parity.forEach((payload, j) => row.push({ type: FrameType.Parity, chunkIndex: blockIndex, fecIndex: data.length + j, payload }));
    }
    group.push(row);
    blockIndex++;
    data = [];
  };

  for await (const block of blocks) {
    for (let offset = 0; offset < block.length; offset += chunkSize) {
      data.push(block.subarray(offset, offset + chunkSize));
      nextChunk++;
      if (data.length < perBlock) continue;
      await closeBlock();
      if (group.length === groupSize) {
        yield group;
        group = [];
      }
    }
  }
  if (data.length > 0) await closeBlock();
  if (group.length > 0) yield group;
}

/** The frames of a group in wire order: column by column across its blocks. */
export function* interleaved(group: CodedFrame[][]): Generator<{ frame: CodedFrame; column: number }> {
  const width = Math.max(...group.map((row) => row.length));
  for (let column = 0; column < width; column++) {
    for (const row of group) {
      const frame = row[column];
      if (frame) yield { frame, column };
    }
  }
}
