import { encodeObjectHeader, type ObjectHeader } from '@diodesync/protocol';
import { codedBlocks } from './coded-groups.js';
import type { Interleaver, ObjectStream } from './interleaver.js';

/**
 * Sends the header, then every block of `blocks` (concatenated object bytes) through the
 * interleaver. A header without its hash (a first send that hashes as it reads) takes
 * `completeHeader` once the blocks are read: the header with the hash, sent four times more (and
 * in every later copy), or undefined when the object must not be completed (it changed as it was read).
 */
export async function sendObject(
  interleaver: Interleaver,
  objectId: number,
  header: ObjectHeader,
  blocks: AsyncIterable<Buffer> | Iterable<Buffer>,
  pass: number,
  completeHeader?: () => Promise<ObjectHeader | undefined>,
): Promise<void> {
  const stream: ObjectStream = {
    objectId, pass, fecK: header.fecK, fecM: header.fecM, header: encodeObjectHeader(header), sent: 0, secondCopySent: false,
  };
  await interleaver.open(stream);
  if (header.fecK === 0) await sendUncoded(interleaver, stream, blocks, header.chunkSize);
  else {
    for await (const block of codedBlocks(blocks, header.chunkSize, { k: header.fecK, m: header.fecM })) {
      await interleaver.add(stream, block);
    }
    if (header.chunkCount === 0) await interleaver.addEmpty(stream);
  }
  const complete = completeHeader && await completeHeader();
  if (!complete) return;
  stream.header = encodeObjectHeader(complete);
  await interleaver.addHeaderCopies(stream);
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
