import { HEADER_SIZE, MAGIC } from './constants.js';
import { frameAt, frameLength, payloadMatches, readHeader, type DropReason, type Frame } from './superframe.js';

export interface DeframerCounters {
  frames: number;
  /** Bytes discarded while searching for the next marker. */
  bytesSkipped: number;
  drops: Record<DropReason, number>;
}

/**
 * Cuts a byte stream (TCP, pipe, serial line) back into superframes.
 * Bytes arrive in chunks of any size; after garbage or corruption it searches
 * for the next marker and trusts a length only once the header CRC has matched.
 */
export class StreamDeframer {
  readonly counters: DeframerCounters = {
    frames: 0,
    bytesSkipped: 0,
    drops: { short: 0, magic: 0, 'header-crc': 0, version: 0, type: 0, length: 0, 'payload-crc': 0 },
  };
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes needed before another attempt can make progress. */
  private needed = MAGIC.length;

  /** Feeds bytes; returns the valid frames they complete, in order. */
  push(chunk: Buffer): Frame[] {
    if (chunk.length === 0) return [];
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered < this.needed) return [];

    const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    const frames: Frame[] = [];
    let pos = 0;
    for (;;) {
      const marker = buf.indexOf(MAGIC, pos);
      if (marker < 0) {
        // A marker may straddle two chunks: keep its possible first bytes.
        const keep = Math.max(pos, buf.length - (MAGIC.length - 1));
        this.counters.bytesSkipped += keep - pos;
        pos = keep;
        this.needed = MAGIC.length;
        break;
      }
      this.counters.bytesSkipped += marker - pos;
      pos = marker;
      if (buf.length - pos < HEADER_SIZE) {
        this.needed = HEADER_SIZE;
        break;
      }
      const head = readHeader(buf, pos);
      if (!head.ok) {
        // A marker without a valid header: garbage, or a damaged frame. Resume the search one byte on.
        this.counters.drops[head.reason]++;
        this.counters.bytesSkipped += 1;
        pos += 1;
        continue;
      }
      const end = pos + frameLength(head.header);
      if (buf.length < end) {
        this.needed = end - pos;
        break;
      }
      const frame = frameAt(buf, pos, head.header);
      if (!payloadMatches(head.header, frame.payload)) {
        // Skip only the header: if bytes were lost, the next frame may start inside this "payload".
        this.counters.drops['payload-crc']++;
        this.counters.bytesSkipped += HEADER_SIZE;
        pos += HEADER_SIZE;
        continue;
      }
      frames.push(frame);
      this.counters.frames++;
      pos = end;
    }
    const rest = buf.subarray(pos);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return frames;
  }

  /** Bytes held while waiting for the rest of a frame. */
  get pendingBytes(): number {
    return this.buffered;
  }
}
