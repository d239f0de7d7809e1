import { FrameType, fecEncode, fecParityCount, fecShardSize, type FecLayout } from '@diodesync/protocol';
import { encodeParity } from '@diodesync/native';

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
 * Blocks whose parity is being computed at once: without the addon the codec runs in the thread
 * pool, so the next blocks are coded while this one is sent (one at a time, the sender sat idle
 * for almost half of a large file's time with FEC on). With it (`encodeParity`) a block is coded
 * here, at once: a hand-off to the pool and back cost five times the coding. Memory: this many
 * blocks more.
 */
const BLOCKS_CODING = 4;

/**
 * Cuts an object's bytes into chunks and yields them block by block: K data frames followed by
 * their parity frames (a short last block gets proportionally fewer). Without FEC every chunk is
 * a block of its own with no parity. Memory: a few blocks (BLOCKS_CODING).
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
  const coding: Promise<CodedFrame[]>[] = [];

  // Takes the block's chunks and index now; only its parity is awaited.
  const close = (): Promise<CodedFrame[]> => {
    const chunks = data;
    const first = nextChunk - chunks.length;
    const index = blockIndex++;
    data = [];
    const row: CodedFrame[] = chunks.map((payload, i) => ({ type: FrameType.Data, chunkIndex: first + i, fecIndex: i, payload }));
    const parityCount = fecParityCount(layout, chunks.length);
    if (parityCount === 0) return Promise.resolve(row);
    const coded = fecEncode(chunks, parityCount, fecShardSize(chunks[0]!.length), encodeParity).then((parity) => {
      parity.forEach((payload, j) => row.push({ type: FrameType.Parity, chunkIndex: index, fecIndex: chunks.length + j, payload }));
      return row;
    });
    coded.catch(() => undefined); // awaited in turn below; left unawaited only if the send stopped
    return coded;
  };

  for await (const block of blocks) {
    for (let offset = 0; offset < block.length; offset += chunkSize) {
      data.push(block.subarray(offset, offset + chunkSize));
      nextChunk++;
      if (data.length === perBlock) {
        coding.push(close());
        if (coding.length >= BLOCKS_CODING) yield await coding.shift()!;
      }
    }
  }
  if (data.length > 0) coding.push(close());
  while (coding.length > 0) yield await coding.shift()!;
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
