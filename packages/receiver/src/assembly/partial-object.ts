import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { fecBlockRange, type FecLayout, type ObjectHeader } from '@diodesync/protocol';
import { hashFileRange } from '../placement/hash-file.js';
import { checkpointPathOf, readCheckpoint, writeCheckpoint } from './checkpoint-file.js';
import { EarlyHash } from './early-hash.js';
import { EarlyWriteback, isZeros, writeFully } from './file-writes.js';
import { ParityStore } from './parity-store.js';
import { SLAB_BYTES, giveSlab, takeSlab } from './chunk-slabs.js';

/** Contiguous chunks waiting to go to disk in one positional write. */
interface Run {
  firstChunk: number;
  /** Where each chunk lies (see `unwritten`). */
  locations: number[];
  bytes: number;
}

/** A chunk's location is slab number * SLAB_SPAN + offset: more than any slab holds. */
const SLAB_SPAN = 2 ** 26;
/** The place of a slab given back (see returnSlabs). */
const GIVEN_BACK = Buffer.alloc(0);

const MAX_RUN_BYTES = 1024 * 1024;
/**
 * A flush because MAX_RUN_BYTES are held writes only runs at least this long; shorter ones (the
 * columns of an interleaved FEC group that has not fully arrived yet) wait for their neighbours,
 * unless they hold half of MAX_RUN_BYTES. Writing them at once made a 1472-byte FEC transfer
 * thousands of small writes (one thread-pool round trip each), 32 KB on average instead of 1 MB.
 */
const MIN_RUN_BYTES = 256 * 1024;
/** Objects from this size on are hashed as their chunks land (early-hash.ts); smaller ones at the end. */
const EARLY_HASH_MIN_BYTES = 16 * 1024 * 1024;

/** What a partial object tells its owner about its writes. */
export interface WriteEvents {
  /** Bytes that left memory (written, found to be zeros, or dropped). */
  written(bytes: number): void;
  /** A write failed (ENOSPC, EIO...): its chunks are missing again and will come with the next pass. */
  failed(error: NodeJS.ErrnoException, path: string): void;
}

/**
 * One object being reassembled into a temp file: a chunk bitmap and coalesced positional
 * writes in FIFO order. The temp file is created at its full size, sparse; a chunk of zeros
 * is not written, so holes stay holes. A failed write un-marks its chunks, so nothing that is
 * not on disk is ever counted as received; verification hashes what the file holds, read back,
 * so no fault of the write path can place a wrong file. A checkpoint file beside the temp file
 * lets a restarted receiver keep what it had.
 */
export class PartialObject {
  readonly bitmap: Uint8Array;
  received = 0;
  lastActivity = Date.now();
  /**
   * Chunks accepted but not yet queued for writing: index -> location in `slabs` (a number, not a
   * view: a view per chunk cost as much as its copy; a write takes one view per stretch of chunks
   * that lie one after the other).
   */
  private unwritten = new Map<number, number>();
  private unwrittenBytes = 0;
  /**
   * Where accepted chunks are copied, one after the other (chunk-slabs.ts): no allocation per
   * chunk. `slabs` are those chunks in `unwritten` may lie in, the last the one being filled
   * (`slab`); the others go back to the pool once nothing waits in them and their writes are done.
   */
  private slabs: Buffer[] = [];
  private slab: Buffer = Buffer.alloc(0);
  private slabUsed = 0;
  private writes: Promise<void> = Promise.resolve();
  private fh: FileHandle | undefined;
  private created = false;
  /** Starts the temp file's write-back as chunks land, so that finish()'s fdatasync has little left to wait for. */
  private readonly writeback = new EarlyWriteback();
  /** A large object's hash, read back from the temp file as its chunks reach the disk. */
  private readonly early: EarlyHash | undefined;
  /** Writes that failed so far: a checkpoint taken across a failure is not kept. */
  private writeFailures = 0;
  /** Set while the receiver verifies and places the object: its chunks are not taken meanwhile. */
  verifying = false;
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
    /** Gains its hash (hashArrived) where the hash followed the data. */
    public header: ObjectHeader,
    readonly tempPath: string,
    private readonly events: WriteEvents,
  ) {
    this.bitmap = new Uint8Array(Math.ceil(header.chunkCount / 8));
    this.fec = { k: header.fecK, m: header.fecM };
    if (header.size >= EARLY_HASH_MIN_BYTES) this.early = new EarlyHash(tempPath, header.chunkCount, header.chunkSize, header.size);
  }

  /** Its header came without the hash, which follows the data (a sender's first send, read once): nothing to verify against yet. */
  get awaitsHash(): boolean {
    return this.header.sha256 === undefined;
  }

  /** The hash that followed the data: kept in the next checkpoint, and verified against once the object is complete. */
  hashArrived(sha256: Buffer): void {
    this.header = { ...this.header, sha256 };
    this.dirty = true;
  }

  /** Bytes of the temp file already read back and hashed for verification (large objects, early-hash.ts). */
  get hashedAhead(): number {
    return this.early?.hashedBytes ?? 0;
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
      const fh = await this.file();
      return Promise.all(present.map(async (here, i) => {
        const chunk = first + i;
        if (!here || !this.has(chunk)) return undefined; // absent, or its write failed meanwhile
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
    return checkpointPathOf(this.tempPath);
  }

  /** Reloads an object an earlier run left: its temp file is kept, not truncated. */
  static async restore(tempPath: string, events: WriteEvents): Promise<PartialObject> {
    const saved = await readCheckpoint(tempPath);
    const partial = new PartialObject(saved.header, tempPath, events);
    const { bitmap } = saved;
    if (bitmap.length !== partial.bitmap.length) throw new Error('checkpoint does not match its header');
    partial.bitmap.set(bitmap);
    for (let chunk = 0; chunk < partial.header.chunkCount; chunk++) {
      if (!partial.has(chunk)) continue;
      partial.received++;
      partial.early?.markOnDisk(chunk, 1); // a checkpoint lists only chunks whose writes were done
    }
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
    // A complete object is verified and its checkpoint removed; one that waits for its hash is kept.
    if (!this.dirty || this.finishing) return this.checkpointing;
    this.dirty = false;
    this.flush();
    const bitmap = Buffer.from(this.bitmap);
    const writes = this.writes;
    const failures = this.writeFailures;
    return this.serialize(async () => {
      await writes;
      if (this.finishing) return;
      if (this.writeFailures !== failures) {
        this.dirty = true; // the bitmap copied above may hold chunks that never reached the disk
        return;
      }
      this.checkpointed = true;
      await writeCheckpoint(this.checkpointPath, { header: this.header, bitmap, lastActivity: this.lastActivity });
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

  /** Complete with a hash to verify against: on its way to verification and placement, no longer checkpointed. */
  private get finishing(): boolean {
    return this.complete && !this.awaitsHash;
  }

  /** Expected payload length of a chunk. */
  chunkLength(chunk: number): number {
    const { size, chunkSize, chunkCount } = this.header;
    return chunk === chunkCount - 1 ? size - chunkSize * (chunkCount - 1) : chunkSize;
  }

  /**
   * Accepts a new chunk (the caller has checked index, length and duplicates). The payload may be
   * a view into a receive slot that is reused as soon as the datagram is handled (udp-ring.ts):
   * it is copied here, the one copy a chunk's bytes get before their write.
   */
  add(chunk: number, payload: Buffer): void {
    this.unwritten.set(chunk, this.copyIn(payload));
    this.bitmap[chunk >> 3]! |= 1 << (chunk & 7);
    this.received++;
    this.dirty = true;
    this.lastActivity = Date.now();
    this.unwrittenBytes += payload.length;
    if (this.unwrittenBytes >= MAX_RUN_BYTES) this.flush(MIN_RUN_BYTES);
  }

  /** Copies `payload` into the slab (the next slab when the rest of this one is too small); returns its location. */
  private copyIn(payload: Buffer): number {
    const length = payload.length;
    if (this.slab.length - this.slabUsed < length) this.nextSlab(length);
    const at = this.slabUsed;
    this.slab.set(payload, at);
    this.slabUsed = at + length;
    return (this.slabs.length - 1) * SLAB_SPAN + at;
  }

  private nextSlab(length: number): void {
    // A small object takes a buffer of its own size, never a pooled slab.
    const small = this.header.size < SLAB_BYTES;
    this.slab = small || length > SLAB_BYTES ? Buffer.allocUnsafeSlow(Math.max(length, this.header.size)) : takeSlab();
    this.slabUsed = 0;
    this.slabs.push(this.slab);
  }

  /** `length` bytes at `location`, as a view. */
  private view(location: number, length: number): Buffer {
    const at = location % SLAB_SPAN;
    return this.slabs[(location - at) / SLAB_SPAN]!.subarray(at, at + length);
  }

  /**
   * Full slabs that no chunk of `unwritten` lies in hold only chunks whose writes are queued: they
   * go back after those (`all`, with nothing unwritten: the one being filled too, which is then
   * dropped). A slab given back leaves an empty buffer in its place, so that the locations of the
   * others stay what they were; with nothing unwritten the list starts again. Waiting for
   * `unwritten` to be empty kept every slab of an interleaved FEC transfer, whose short runs are
   * held back (MIN_RUN_BYTES): 2 GB at 1500m held 11 MB of chunks in 50 MB of slabs.
   */
  private returnSlabs(all = false): void {
    let done: Buffer[];
    if (this.unwritten.size === 0) {
      done = all ? this.slabs : this.slabs.slice(0, -1);
      this.slabs = all ? [] : [this.slab];
      if (all) {
        this.slab = Buffer.alloc(0);
        this.slabUsed = 0;
      }
    } else {
      if (all) return;
      const holding = new Uint8Array(this.slabs.length);
      for (const location of this.unwritten.values()) holding[Math.floor(location / SLAB_SPAN)] = 1;
      done = [];
      for (let i = 0; i < this.slabs.length - 1; i++) {
        if (holding[i] || this.slabs[i]!.length === 0) continue;
        done.push(this.slabs[i]!);
        this.slabs[i] = GIVEN_BACK;
      }
    }
    const given = done.filter((slab) => slab.length > 0);
    if (given.length > 0) void this.writes.then(() => given.forEach(giveSlab));
  }

  /**
   * Queues the chunks held for writing, sorted and grouped into contiguous runs: interleaved
   * FEC blocks arrive out of order, but after a group they are contiguous on disk, so a few
   * large positional writes replace thousands of small ones. Chunks of zeros are left as holes.
   * With `minRunBytes`, shorter runs stay held (see MIN_RUN_BYTES).
   */
  flush(minRunBytes = 0): void {
    if (this.unwritten.size === 0) return;
    const chunks = [...this.unwritten.keys()].sort((x, y) => x - y);
    const held = this.unwritten;
    this.unwritten = new Map();
    this.unwrittenBytes = 0;
    const runs: Run[] = [];
    let run: Run | undefined;
    let short = 0;
    const holes: number[] = [];
    for (const chunk of chunks) {
      const location = held.get(chunk)!;
      const length = this.chunkLength(chunk);
      if (this.holdsZeros(location, length)) {
        this.events.written(length); // the temp file already reads as zeros there
        holes.push(chunk);
        continue;
      }
      if (run && chunk === run.firstChunk + run.locations.length) {
        run.locations.push(location);
        run.bytes += length;
        continue;
      }
      if (run) runs.push(run);
      run = { firstChunk: chunk, locations: [location], bytes: length };
    }
    if (run) runs.push(run);
    if (holes.length > 0 && this.early) this.markHoles(holes, this.early);
    for (const r of runs) if (r.bytes < minRunBytes) short += r.bytes;
    // Short runs wait only while they are a small part of what is held: memory stays bounded.
    const keep = short > 0 && short <= MAX_RUN_BYTES / 2;
    for (const r of runs) {
      if (!keep || r.bytes >= minRunBytes) {
        this.write(r);
        continue;
      }
      r.locations.forEach((location, i) => this.unwritten.set(r.firstChunk + i, location));
      this.unwrittenBytes += r.bytes;
    }
    this.returnSlabs();
  }

  /** Holes count as on disk for the early hash once the temp file exists at its size (an earlier run's file under the name is truncated first). */
  private markHoles(holes: number[], early: EarlyHash): void {
    this.writes = this.writes.then(async () => {
      await this.file();
      for (const chunk of holes) early.markOnDisk(chunk, 1);
    }).catch(() => undefined); // no file: the holes stay unmarked, and finish() hashes the whole file
  }

  /** Most chunks differ from zeros in their first or last byte: a view only for those that do not. */
  private holdsZeros(location: number, length: number): boolean {
    const at = location % SLAB_SPAN;
    const slab = this.slabs[(location - at) / SLAB_SPAN]!;
    return length === 0 || (slab[at] === 0 && slab[at + length - 1] === 0 && isZeros(slab.subarray(at, at + length)));
  }

  /** A run's bytes as views, one per stretch of chunks that lie one after the other in a slab (taken now: the slabs stay until the write is done). */
  private buffers(run: Run): Buffer[] {
    const buffers: Buffer[] = [];
    const { firstChunk, locations } = run;
    let start = locations[0]!;
    let end = start + this.chunkLength(firstChunk);
    for (let i = 1; i < locations.length; i++) {
      const location = locations[i]!;
      const length = this.chunkLength(firstChunk + i);
      if (location === end) {
        end += length; // the next chunk follows in the same slab (a slab is shorter than SLAB_SPAN)
        continue;
      }
      buffers.push(this.view(start, end - start));
      start = location;
      end = location + length;
    }
    buffers.push(this.view(start, end - start));
    return buffers;
  }

  private write(run: Run): void {
    const buffers = this.buffers(run);
    this.writes = this.writes.then(async () => {
      try {
        const fh = await this.file();
        await writeFully(fh, buffers, run.firstChunk * this.header.chunkSize);
        this.writeback.written(fh, run.bytes);
        this.early?.markOnDisk(run.firstChunk, run.locations.length);
      } catch (err) {
        this.unmark(run);
        this.events.failed(err as NodeJS.ErrnoException, this.header.path);
      } finally {
        this.events.written(run.bytes);
      }
    });
  }

  /** A run that did not reach the disk: its chunks are missing again. */
  private unmark(run: Run): void {
    this.writeFailures++;
    for (let chunk = run.firstChunk; chunk < run.firstChunk + run.locations.length; chunk++) {
      if (!this.has(chunk)) continue;
      this.bitmap[chunk >> 3]! &= ~(1 << (chunk & 7));
      this.received--;
    }
  }

  /**
   * Waits for queued writes, then returns the SHA-256 of the temp file as read back from disk,
   * or undefined if a write failed and chunks are missing again.
   */
  async finish(): Promise<Buffer | undefined> {
    this.flush();
    await this.writes;
    if (!this.complete) return undefined;
    const fh = await this.file();
    const digest = await this.early?.finish() ?? await this.hashWhole(fh);
    await fh.datasync();
    await this.closeFile();
    this.returnSlabs(true);
    return digest;
  }

  private async hashWhole(fh: FileHandle): Promise<Buffer> {
    const hash = createHash('sha256');
    const hashed = await hashFileRange(fh, hash, 0, this.header.size);
    if (hashed !== this.header.size) throw Object.assign(new Error(`temp file holds ${hashed} of ${this.header.size} bytes`), { code: 'EIO' });
    return hash.digest();
  }

  /** Closes the descriptor of an idle object; it reopens on the next write. */
  async closeIdle(): Promise<void> {
    if (!this.fh && this.unwritten.size === 0) return;
    this.flush();
    this.writes = this.writes.then(() => this.closeFile());
    await this.writes;
    await this.early?.release();
  }

  async discard(): Promise<void> {
    if (this.unwrittenBytes > 0) {
      this.events.written(this.unwrittenBytes);
      this.unwritten = new Map();
      this.unwrittenBytes = 0;
    }
    this.slabs = []; // nothing waits in them now; the writes hold views of their own
    this.slab = Buffer.alloc(0);
    this.slabUsed = 0;
    await this.writes.catch(() => undefined);
    await this.closeFile().catch(() => undefined);
    await this.early?.stop();
    await rm(this.tempPath, { force: true });
    await this.forgetCheckpoint();
  }

  /** The temp file became a mirror file (or went away): its checkpoint means nothing now. */
  forgetCheckpoint(): Promise<void> {
    this.dirty = false;
    if (!this.checkpointed) return this.checkpointing;
    return this.serialize(() => rm(this.checkpointPath, { force: true }));
  }

  /**
   * The first open truncates whatever an earlier run left under this name and sets the full
   * size (sparse: no space is taken until written); later ones keep the data.
   */
  private async file(): Promise<FileHandle> {
    if (!this.fh) {
      const fh = await open(this.tempPath, this.created ? constants.O_RDWR : 'w+', 0o600);
      try {
        if (!this.created) await fh.truncate(this.header.size);
      } catch (err) {
        await fh.close();
        throw err;
      }
      this.fh = fh;
      this.created = true;
    }
    return this.fh;
  }

  private async closeFile(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await this.writeback.settled(); // its descriptor must not be closed (and reused) under it
    await fh?.close();
  }
}
