import { encodeObjectHeader, type ObjectHeader } from '@diodesync/protocol';
import { codedBlocks } from './coded-groups.js';
import type { Interleaver, ObjectStream } from './interleaver.js';

/** Sends the header, then every block of `blocks` (concatenated object bytes) through the interleaver. */
export async function sendObject(
  interleaver: Interleaver,
  objectId: number,
  header: ObjectHeader,
  blocks: AsyncIterable<Buffer> | Iterable<Buffer>,
  pass: number,
): Promise<void> {
  const stream: ObjectStream = {
    objectId, pass, fecK: header.fecK, fecM: header.fecM, header: encodeObjectHeader(header), sent: 0, secondCopySent: false,
  };
  await interleaver.open(stream);
  if (header.fecK === 0) return sendUncoded(interleaver, stream, blocks, header.chunkSize);
  for await (const block of codedBlocks(blocks, header.chunkSize, { k: header.fecK, m: header.fecM })) {
    await interleaver.add(stream, block);
  }
  if (header.chunkCount === 0 && header.fecK > 0) await interleaver.addEmpty(stream);
}

/** Without FEC every chunk is a block of its own: straight to the interleaver, no generator per chunk. */
async function sendUncoded(interleaver: Interleaver, stream: ObjectStream, blocks: AsyncIterable<Buffer> | Iterable<Buffer>, chunkSize: number): Promise<void> {
  let chunkIndex = 0;
  for await (const block of blocks) {
    for (let offset = 0; offset < block.length; offset += chunkSize) {
      const wait = interleaver.addChunk(stream, chunkIndex++, block.subarray(offset, offset + chunkSize));
      if (wait) await wait;
    }
  }
}
