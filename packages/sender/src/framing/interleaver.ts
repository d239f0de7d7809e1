import { FrameType } from '@diodesync/protocol';
import { interleaved, type CodedFrame } from './coded-groups.js';
import type { FrameEmitter } from './frame-emitter.js';

/** A copy of the object header every this many of its frames: a lost header costs at most this much of a pass. */
export const HEADER_EVERY = 256;

export class SendStopped extends Error {
  override name = 'SendStopped';
}

/** One object on its way out: what its frames carry, and how far it got. */
export interface ObjectStream {
  objectId: number;
  pass: number;
  fecK: number;
  fecM: number;
  /** Encoded object header, sent first and repeated (replaced once a hash that follows the data is known). */
  header: Buffer;
  sent: number;
  secondCopySent: boolean;
}

/** A header copy in a group's row of its own: an empty object's second, or a header whose hash followed the data. */
const HEADER_COPY = 'header-copy';

/** What a group's row holds in one column: undefined is a hole (nothing of that row in that column). */
type Slot = CodedFrame | typeof HEADER_COPY | undefined;

/**
 * Holds up to `depth` FEC blocks, of one object or of several consecutive ones, and sends them
 * column by column: small files share a group and are protected like large ones. Memory:
 * depth * (K + M) chunks. Whoever adds blocks must `flush()` before waiting for anything (end of a
 * pass, a sleep).
 *
 * The guarantee, with FEC on (K+M, this depth D): a burst of at most D consecutive frames lost
 * anywhere on this sender's wire takes no file of any size (empty, one chunk, many blocks) and no
 * manifest. Because:
 * - any two frames of one block are at least D frames apart on the wire (see `flush`), so such a
 *   burst costs every block at most one of its k'+m' frames, and every block has m' >= 1 parity
 *   frames (`fecParityCount`): every block is rebuilt;
 * - an object's header goes out before its first group and again just before its first frame of
 *   column 1 (an empty object: in column 1 of its group), which is more than D frames later, so one
 *   copy arrives; what came before it is data of column 0 (never parity, k' >= 1), which waits in
 *   the receiver's orphan buffer (5 s, megabytes: far more than a column).
 * Frames of other kinds sent in between (heartbeats, more header copies) only widen the gaps.
 * Longer bursts cost a block ceil(L / D) frames, which small blocks (m' = 1) do not survive;
 * two bursts within a block's span add up as well: keep -R 2 for those.
 */
export class Interleaver {
  private group: { stream: ObjectStream; frames: Slot[] }[] = [];
  /** Run once the frames held when they were registered have been sent. */
  private afterFlush: (() => void)[] = [];

  constructor(
    private readonly emitter: FrameEmitter,
    readonly depth: number,
    private readonly signal?: AbortSignal,
  ) {}

  /** Sends the object's header at once: it must precede the object's blocks, which may wait here. */
  async open(stream: ObjectStream): Promise<void> {
    await this.sendHeader(stream);
  }

  async add(stream: ObjectStream, block: CodedFrame[]): Promise<void> {
    this.group.push({ stream, frames: block });
    if (this.group.length >= this.depth) await this.flush();
  }

  /** An object without data (an empty file) still gets its second header copy, spread like a block. */
  async addEmpty(stream: ObjectStream): Promise<void> {
    // In column 1, not 0: the whole padded column 0 (at least `depth` frames) then separates it from the first copy.
    this.group.push({ stream, frames: [undefined, HEADER_COPY] });
    if (this.group.length >= this.depth) await this.flush();
  }

  /**
   * The object's header again, as it now stands (`stream.header`: a first send's header with the
   * hash that follows the data), spread like a block: in columns 0 to 3 of a row of its own, so a
   * whole column (at least `depth` frames) separates each copy from the next. It comes only at the
   * end of the object's data, and without it the whole object is lost: a burst must span more
   * than two columns to take every copy, where one copy in each of two columns would go with a
   * burst of little more than `depth` frames.
   */
  async addHeaderCopies(stream: ObjectStream): Promise<void> {
    this.group.push({ stream, frames: [HEADER_COPY, HEADER_COPY, HEADER_COPY, HEADER_COPY] });
    if (this.group.length >= this.depth) await this.flush();
  }

  /** Runs `done` once everything added so far has gone to the emitter (now, if nothing is held). */
  whenSent(done: () => void): void {
    if (this.group.length === 0) done();
    else this.afterFlush.push(done);
  }

  /**
   * Sends the blocks held, however few, column by column. A column of fewer than `depth` frames (a
   * group of fewer blocks at the end of a pass, or a column past the end of the shorter blocks) is
   * filled up with copies of the group's object headers (small, and useful), except the last
   * column. The longest blocks go first (a stable sort), so every column holds a prefix of the rows
   * and each block keeps its place in every column it has a frame in: with columns of at least
   * `depth` frames, a block's consecutive frames are at least `depth` apart. (In arrival order, a
   * block after a shorter one would move up a place once that one ended, closer than `depth` to its
   * previous frame: a burst of `depth` could take two frames of a small block with m' = 1.)
   */
  async flush(): Promise<void> {
    const group = this.group.sort((a, b) => b.frames.length - a.frames.length);
    const done = this.afterFlush;
    this.group = [];
    this.afterFlush = [];
    let column = 0;
    let inColumn = 0;
    let filler = 0;
    for (const next of interleaved(group.map((g) => g.frames))) {
      if (this.signal?.aborted) throw new SendStopped();
      if (next.column !== column) {
        for (; inColumn < this.depth; inColumn++) {
          const wait = this.sendHeader(group[filler++ % group.length]!.stream);
          if (wait) await wait;
        }
        column = next.column;
        inColumn = 0;
      }
      // Header copies sent before a frame do not count: they do not separate that row's frames.
      const wait = this.send(group[next.row]!.stream, next.frame, next.column);
      if (wait) await wait;
      inColumn++;
    }
    for (const callback of done) callback();
  }

  /**
   * Without FEC (depth 1): a data chunk goes out at once, as a block of one would, without the
   * block's frame object or a flush per chunk. Undefined unless the caller must wait.
   */
  addChunk(stream: ObjectStream, chunkIndex: number, payload: Buffer): Promise<void> | undefined {
    if (this.depth > 1 || this.group.length > 0) return this.add(stream, [{ type: FrameType.Data, chunkIndex, fecIndex: 0, payload }]);
    if (this.signal?.aborted) throw new SendStopped();
    return this.send(stream, { type: FrameType.Data, chunkIndex, fecIndex: 0, payload }, 0);
  }

  /** Sends one frame of a block, after the header copy due before it if any; a promise only when the caller must wait. */
  private send(stream: ObjectStream, frame: NonNullable<Slot>, column: number): Promise<void> | undefined {
    if (frame === HEADER_COPY) {
      stream.secondCopySent = true;
      return this.sendHeader(stream);
    }
    // A second header copy after the first column, so a burst of up to `depth` frames cannot take
    // both: what arrives before it is orphaned, but that is one frame per block, which FEC repairs.
    const secondCopy = column === 1 && !stream.secondCopySent;
    if (secondCopy) stream.secondCopySent = true;
    if (secondCopy || (stream.sent > 0 && stream.sent % HEADER_EVERY === 0)) {
      const wait = this.sendHeader(stream);
      if (wait) return wait.then(() => this.sendFrame(stream, frame));
    }
    return this.sendFrame(stream, frame);
  }

  private sendFrame(stream: ObjectStream, frame: CodedFrame): Promise<void> | undefined {
    stream.sent++;
    return this.emitter.emit(
      { type: frame.type, objectId: stream.objectId, chunkIndex: frame.chunkIndex, fecK: stream.fecK, fecM: stream.fecM, fecIndex: frame.fecIndex, pass: stream.pass },
      frame.payload,
    );
  }

  /** Forgets what is held (the sender is stopping). */
  discard(): void {
    this.group = [];
    this.afterFlush = [];
  }

  private sendHeader(stream: ObjectStream): Promise<void> | undefined {
    return this.emitter.emit({ type: FrameType.ObjectHeader, objectId: stream.objectId, pass: stream.pass }, stream.header);
  }
}
