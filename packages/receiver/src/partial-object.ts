import { createHash, type Hash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { decodeObjectHeader, encodeObjectHeader, fecBlockRange, type FecLayout, type ObjectHeader } from '@diodesync/protocol';
import { hashFileRange } from './hash-file.js';
import { ParityStore } from './parity-store.js';

/** Contiguous chunks waiting to go to disk in one positional write. */
interface Run {
  firstChunk: number;
  buffers: Buffer[];
  bytes: number;
}

const MAX_RUN_BYTES = 1024 * 1024;

/** What survives a receiver restart beside the temp file: the header and the chunks already on disk. */
interface Checkpoint {
  header: string;
  bitmap: string;
  lastActivity: number;
}

/**
 * One object being reassembled into a temp file: a chunk bitmap, coalesced positional
 * writes in FIFO order, and a running SHA-256 over the prefix that arrived in order,
 * so that verification only reads back what came out of order. A checkpoint file beside
 * the temp file lets a restarted receiver keep what it had.
 */
export class PartialObject {
  readonly bitmap: Uint8Array;
  received = 0;
  lastActivity = Date.now();
  /** Chunks accepted but not yet queued for writing, by index. */
  private unwritten = new Map<number, Buffer>();
  private unwrittenBytes = 0;
  private writes: Promise<void> = Promise.resolve();
  private fh: FileHandle | undefined;
  private created = false;
  private writeError: Error | undefined;
  private readonly hash: Hash = createHash('sha256');
  private hashedChunks = 0;
  /** Bytes accepted but not yet written: the receiver's memory bound counts these. */
  pendingBytes = 0;
  /** Chunks added since the last checkpoint. */
  private dirty = false;
  private checkpointing: Promise<void> = Promise.resolve();
  /** A checkpoint file may exist (small objects finish before their first one). */
  private checkpointed = false;
  readonly fec: FecLayout;
  /** Parity shards of blocks that still lack data. */
  readonly parity = new ParityStore();
  /** Blocks being rebuilt right now. */
  readonly repairing = new Set<number>();

  constructor(
    readonly header: ObjectHeader,
    readonly tempPath: string,
    private readonly onWritten: (bytes: number) => void,
  ) {
    this.bitmap = new Uint8Array(Math.ceil(header.chunkCount / 8));
    this.fec = { k: header.fecK, m: header.fecM };
  }

  /** Data chunks of FEC block `block`: where they start, how many, how many have arrived. */
  blockState(block: number): { first: number; count: number; present: number } {
    const { first, count } = fecBlockRange(this.fec, this.header.chunkCount, block);
    let present = 0;
    for (let c = first; c < first + count; c++) if (this.has(c)) present++;
    return { first, count, present };
  }

  /**
   * Reads back the chunks of `first..first+count-1` that have arrived (undefined for the others).
   * Which chunks is decided now, and the reads join the write queue after their writes, so a
   * chunk that arrives meanwhile (its write queued behind us) is never read before it is on disk.
   */
  readChunks(first: number, count: number): Promise<(Buffer | undefined)[]> {
    this.flush();
    const present = Array.from({ length: count }, (_, i) => this.has(first + i));
    const read = this.writes.then(async () => {
      if (this.writeError) throw this.writeError;
      const fh = await this.file();
      return Promise.all(present.map(async (here, i) => {
        if (!here) return undefined;
        const chunk = first + i;
        const buf = Buffer.alloc(this.chunkLength(chunk));
        const { bytesRead } = await fh.read(buf, 0, buf.length, chunk * this.header.chunkSize);
        if (bytesRead !== buf.length) throw new Error(`short read of chunk ${chunk}`);
        return buf;
      }));
    });
    this.writes = read.then(() => undefined, () => undefined);
    return read;
  }

  get checkpointPath(): string {
    return this.tempPath.replace(/\.part$/, '.meta');
  }

  /** Reloads an object an earlier run left: its temp file is kept, not truncated. */
  static async restore(tempPath: string, onWritten: (bytes: number) => void): Promise<PartialObject> {
    const saved = JSON.parse(await readFile(tempPath.replace(/\.part$/, '.meta'), 'utf8')) as Checkpoint;
    await stat(tempPath); // a checkpoint without its data is worthless
    const partial = new PartialObject(decodeObjectHeader(Buffer.from(saved.header, 'base64')), tempPath, onWritten);
    const bitmap = Buffer.from(saved.bitmap, 'base64');
    if (bitmap.length !== partial.bitmap.length) throw new Error('checkpoint does not match its header');
    partial.bitmap.set(bitmap);
    for (let chunk = 0; chunk < partial.header.chunkCount; chunk++) if (partial.has(chunk)) partial.received++;
    partial.lastActivity = saved.lastActivity;
    partial.created = true;
    partial.checkpointed = true;
    return partial;
  }

  /**
   * Records which chunks are on disk. The bitmap is copied before waiting for the writes,
   * so a chunk still in memory is never recorded as written.
   */
  checkpoint(): Promise<void> {
    if (!this.dirty || this.writeError || this.complete) return this.checkpointing;
    this.dirty = false;
    this.flush();
    const bitmap = Buffer.from(this.bitmap).toString('base64');
    const writes = this.writes;
    return this.serialize(async () => {
      await writes;
      if (this.writeError || this.complete) return;
      const saved: Checkpoint = { header: encodeObjectHeader(this.header).toString('base64'), bitmap, lastActivity: this.lastActivity };
      const temp = `${this.checkpointPath}.tmp`;
      this.checkpointed = true;
      await writeFile(temp, JSON.stringify(saved));
      await rename(temp, this.checkpointPath);
    });
  }

  /** Checkpoint writes and removals run one after the other, so a late write cannot resurrect a removed one. */
  private serialize(op: () => Promise<void>): Promise<void> {
    this.checkpointing = this.checkpointing.then(op).catch(() => undefined);
    return this.checkpointing;
  }

  has(chunk: number): boolean {
    return (this.bitmap[chunk >> 3]! & (1 << (chunk & 7))) !== 0;
  }

  get complete(): boolean {
    return this.received === this.header.chunkCount;
  }

  get failed(): Error | undefined {
    return this.writeError;
  }

  /** Expected payload length of a chunk. */
  chunkLength(chunk: number): number {
    const { size, chunkSize, chunkCount } = this.header;
    return chunk === chunkCount - 1 ? size - chunkSize * (chunkCount - 1) : chunkSize;
  }

  /** Accepts a new chunk (the caller has checked index, length and duplicates). */
  add(chunk: number, payload: Buffer): void {
    this.bitmap[chunk >> 3]! |= 1 << (chunk & 7);
    this.received++;
    this.dirty = true;
    this.pendingBytes += payload.length;
    this.lastActivity = Date.now();
    this.unwritten.set(chunk, payload);
    this.unwrittenBytes += payload.length;
    if (this.unwrittenBytes >= MAX_RUN_BYTES) this.flush();
  }

  /**
   * Queues the chunks held for writing, sorted and grouped into contiguous runs: interleaved
   * FEC blocks arrive out of order, but after a group they are contiguous on disk, so a few
   * large positional writes replace thousands of small ones.
   */
  flush(): void {
    if (this.unwritten.size === 0) return;
    const chunks = [...this.unwritten.keys()].sort((x, y) => x - y);
    const held = this.unwritten;
    this.unwritten = new Map();
    this.unwrittenBytes = 0;
    for (let i = 0; i < chunks.length; ) {
      const run: Run = { firstChunk: chunks[i]!, buffers: [], bytes: 0 };
      do {
        const buf = held.get(chunks[i]!)!;
        run.buffers.push(buf);
        run.bytes += buf.length;
        i++;
      } while (i < chunks.length && chunks[i] === chunks[i - 1]! + 1);
      this.write(run);
    }
  }

  private write(run: Run): void {
    if (run.firstChunk === this.hashedChunks) {
      for (const b of run.buffers) this.hash.update(b);
      this.hashedChunks += run.buffers.length;
    }
    const position = run.firstChunk * this.header.chunkSize;
    this.writes = this.writes.then(async () => {
      try {
        if (this.writeError) return;
        const fh = await this.file();
        await fh.writev(run.buffers, position);
      } catch (err) {
        this.writeError ??= err as Error;
      } finally {
        this.pendingBytes -= run.bytes;
        this.onWritten(run.bytes);
      }
    });
  }

  /** Waits for queued writes, then returns the SHA-256 of the whole temp file. */
  async finish(): Promise<Buffer> {
    this.flush();
    await this.writes;
    if (this.writeError) throw this.writeError;
    const fh = await this.file();
    await hashFileRange(fh, this.hash, this.hashedChunks * this.header.chunkSize, this.header.size);
    await fh.datasync();
    await this.closeFile();
    return this.hash.digest();
  }

  /** Closes the descriptor of an idle object; it reopens on the next write. */
  async closeIdle(): Promise<void> {
    if (!this.fh && this.unwritten.size === 0) return;
    this.flush();
    this.writes = this.writes.then(() => this.closeFile());
    await this.writes;
  }

  async discard(): Promise<void> {
    if (this.unwrittenBytes > 0) {
      this.pendingBytes -= this.unwrittenBytes;
      this.onWritten(this.unwrittenBytes);
      this.unwritten = new Map();
      this.unwrittenBytes = 0;
    }
    await this.writes.catch(() => undefined);
    await this.closeFile().catch(() => undefined);
    await rm(this.tempPath, { force: true });
    await this.forgetCheckpoint();
  }

  /** The temp file became a mirror file (or went away): its checkpoint means nothing now. */
  forgetCheckpoint(): Promise<void> {
    this.dirty = false;
    if (!this.checkpointed) return this.checkpointing;
    return this.serialize(() => rm(this.checkpointPath, { force: true }));
  }

  /** The first open truncates whatever an earlier run left under this name; later ones keep the data. */
  private async file(): Promise<FileHandle> {
    if (!this.fh) {
      this.fh = await open(this.tempPath, this.created ? constants.O_RDWR : 'w+', 0o600);
      this.created = true;
    }
    return this.fh;
  }

  private async closeFile(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }
}
