import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { cpus } from 'node:os';
import { BLOCK, hashFileRange } from '../placement/hash-file.js';

/** Read back and hashed in steps of at least this many bytes while chunks still arrive. */
const STEP_BYTES = 4 * 1024 * 1024;
/** Hashing ahead runs only while at least this much of a CPU went idle (over about SPARE_WINDOW_MS). */
const SPARE_CORES = 1;
const SPARE_WINDOW_MS = 200;

const idleMs = () => cpus().reduce((sum, cpu) => sum + cpu.times.idle, 0);
let sample = { idle: idleMs(), at: performance.now() };
let spare = true;

/**
 * Whether the machine has a whole CPU to spare. Hashing ahead does not save work, it moves it: with
 * every core busy (a receiver sharing two cores with its sender or a replay) the 0.7 us a frame it
 * costs comes out of the frames, and the ring overflowed at rates it had taken before.
 */
function spareCpu(): boolean {
  const at = performance.now();
  if (at - sample.at < SPARE_WINDOW_MS) return spare;
  const idle = idleMs();
  spare = (idle - sample.idle) / (at - sample.at) >= SPARE_CORES;
  sample = { idle, at };
  return spare;
}

/**
 * A large object's SHA-256, taken from its temp file as read back, while the transfer goes on:
 * whenever the chunks from the start that are on disk reach STEP_BYTES past what is hashed, those
 * bytes are read back (through a descriptor of its own, beside the writes, never holding them up)
 * and hashed. Verification then reads only the tail, where it read and hashed the whole file once
 * the last chunk had come (0.4 s of a 500 MB file's 3 s at 2.5 Gb/s, during which nothing else
 * moved). The hash is still of what the file holds: a chunk counts once its write has succeeded (a
 * hole of zeros at once: it reads as zeros), and a chunk on disk is never written again. Only
 * with CPU to spare (spareCpu); without, the rest waits for the end, as before.
 */
export class EarlyHash {
  /** Whether a step may run now (tests set it). */
  static hasSpareCpu: () => boolean = spareCpu;

  private readonly hash = createHash('sha256');
  /** Chunks known to be on disk. */
  private readonly onDisk: Uint8Array;
  /** Chunks before this one are all on disk. */
  private prefix = 0;
  /** Bytes hashed so far, from the start. */
  private hashed = 0;
  /** A read failed: finish() returns undefined and the caller hashes the whole file. */
  private broken = false;
  private stopped = false;
  private fh: FileHandle | undefined;
  private running: Promise<void> | undefined;
  /** Read into at every step (a block per step was 500 dead megabytes over a 2 GB file); taken at the first step. */
  private block: Buffer | undefined;

  constructor(private readonly path: string, private readonly chunkCount: number, private readonly chunkSize: number, private readonly size: number) {
    this.onDisk = new Uint8Array(Math.ceil(chunkCount / 8));
  }

  /** Bytes read back and hashed so far, from the start. */
  get hashedBytes(): number {
    return this.hashed;
  }

  /** Chunks `first..first+count-1` are on disk (written, or holes); hashing goes on if the prefix grew a step. */
  markOnDisk(first: number, count: number): void {
    for (let c = first; c < first + count; c++) this.onDisk[c >> 3]! |= 1 << (c & 7);
    if (!this.running && !this.broken && !this.stopped && this.readyEnd() - this.hashed >= STEP_BYTES && EarlyHash.hasSpareCpu()) {
      this.running = this.run().finally(() => (this.running = undefined));
    }
  }

  /** The digest of the whole file, the rest read back now; undefined if a read failed (hash the whole file then). */
  async finish(): Promise<Buffer | undefined> {
    await this.running;
    await this.take(this.size);
    await this.stop();
    return this.broken || this.hashed !== this.size ? undefined : this.hash.digest();
  }

  /** Closes its descriptor once the current step is done (an idle object); the next step opens it again. */
  async release(): Promise<void> {
    await this.running;
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }

  /** No more hashing (the object is discarded or verified). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.release();
    this.block = undefined;
  }

  /** Where the chunks on disk from the start end. */
  private readyEnd(): number {
    while (this.prefix < this.chunkCount && this.onDisk[this.prefix >> 3]! & (1 << (this.prefix & 7))) this.prefix++;
    return Math.min(this.size, this.prefix * this.chunkSize);
  }

  private async run(): Promise<void> {
    for (let end = this.readyEnd(); !this.stopped && !this.broken && end - this.hashed >= STEP_BYTES && EarlyHash.hasSpareCpu(); end = this.readyEnd()) await this.take(end);
  }

  private async take(end: number): Promise<void> {
    if (this.broken || end <= this.hashed) return;
    try {
      this.fh ??= await open(this.path, 'r');
      this.block ??= Buffer.allocUnsafe(BLOCK);
      const read = await hashFileRange(this.fh, this.hash, this.hashed, end, this.block);
      this.hashed += read;
      if (this.hashed !== end) this.broken = true; // a short file: the caller hashes it whole, and says so
    } catch {
      this.broken = true;
    }
  }
}
