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
 * Cuts an object's bytes into chunks and yields them block by block: K data frames followed by
 * their parity frames (a short last block gets proportionally fewer). Without FEC every chunk is
 * a block of its own with no parity. Memory: one block.
 */
export async function* codedBlocks(
  blocks: AsyncIterable<Buffer> | Iterable<Buffer>,
  chunkSize: number,
  layout: FecLayout,
): AsyncGenerator<CodedFrame[]> {
  const perBlock = layout.k || 1;
  let data: Buffer[] = [];
  let nextChunk = 0;
  let blockIndex = 0;

  const close = async (): Promise<CodedFrame[]> => {
    const row: CodedFrame[] = data.map((payload, i) => ({ type: FrameType.Data, chunkIndex: nextChunk - data.length + i, fecIndex: i, payload }));
    const parityCount = fecParityCount(layout, data.length);
    if (parityCount > 0) {
      const parity = await fecEncode(data, parityCount, fecShardSize(data[0]!.length));
      parity.forEach((payload, j) => row.push({ type: FrameType.Parity, chunkIndex: blockIndex, fecIndex: data.length + j, payload }));
    }
    blockIndex++;
    data = [];
    return row;
  };

  for await (const block of blocks) {
    for (let offset = 0; offset < block.length; offset += chunkSize) {
      data.push(block.subarray(offset, offset + chunkSize));
      nextChunk++;
      if (data.length === perBlock) yield await close();
    }
  }
  if (data.length > 0) yield await close();
}

/** The frames of a group of blocks in wire order: column by column across its blocks (holes skipped). */
export function* interleaved<T>(group: readonly (readonly (T | undefined)[])[]): Generator<{ frame: T; row: number; column: number }> {
  const width = Math.max(0, ...group.map((r) => r.length));
  for (let column = 0; column < width; column++) {
    for (let row = 0; row < group.length; row++) {
      const frame = group[row]![column];
      if (frame) yield { frame, row, column };
    }
  }
}
