import { createRequire } from 'node:module';

/*
 * Erasure coding of an object's chunks (Reed-Solomon, Cauchy matrices, via @ronomon/reed-solomon).
 *
 * Chunks are grouped in blocks of K consecutive chunks; block b holds chunks b*K .. b*K+K-1. Each
 * block gets M parity shards; any K of its K+M shards rebuild it. The last block of an object may
 * be short (k' < K chunks): it gets ceil(M*k'/K) parity shards (at least 1), so a small object pays
 * the same share of overhead as a large one, and no padding chunk is ever sent. A block's shards are
 * all as long as its first chunk rounded up to 8 bytes (the codec works on 8-byte words); a shorter
 * last chunk is zero-padded for coding only, and a parity frame carries the padded shard.
 */

/** Limits of the codec (MAX_K and MAX_M in its binding.c). */
export const FEC_MAX_K = 24;
export const FEC_MAX_M = 6;

/** Nominal coding layout of an object: k data chunks per block, m parity shards per block; k = 0: no FEC. */
export interface FecLayout {
  k: number;
  m: number;
}

export const FEC_OFF: FecLayout = { k: 0, m: 0 };

export function fecEnabled(layout: FecLayout): boolean {
  return layout.k > 0;
}

/** Why a layout is not usable, or undefined if it is. */
export function fecLayoutProblem({ k, m }: FecLayout): string | undefined {
  if (!Number.isInteger(k) || !Number.isInteger(m)) return 'K and M must be whole numbers';
  if (k === 0 && m === 0) return undefined;
  if (k < 1 || k > FEC_MAX_K) return `K must be between 1 and ${FEC_MAX_K}`;
  if (m < 1 || m > FEC_MAX_M) return `M must be between 1 and ${FEC_MAX_M}`;
  return undefined;
}

/** "20+4" -> { k: 20, m: 4 }; "0" or "off" -> no FEC. */
export function parseFec(text: string | number): FecLayout {
  const s = String(text).trim().toLowerCase();
  if (s === '0' || s === 'off' || s === 'none') return FEC_OFF;
  const match = /^(\d+)\s*\+\s*(\d+)$/.exec(s);
  if (!match) throw new RangeError(`invalid FEC setting '${text}' (expected K+M such as 20+4, or 0 for none)`);
  const layout = { k: Number(match[1]), m: Number(match[2]) };
  const problem = fecLayoutProblem(layout);
  if (problem || layout.k === 0) throw new RangeError(`invalid FEC setting '${text}': ${problem ?? 'K must be at least 1'}`);
  return layout;
}

export function formatFec({ k, m }: FecLayout): string {
  return k === 0 ? 'off' : `${k}+${m}`;
}

export function fecBlockCount(layout: FecLayout, chunkCount: number): number {
  return layout.k === 0 ? 0 : Math.ceil(chunkCount / layout.k);
}

/** First chunk and number of data chunks of block `block`. */
export function fecBlockRange(layout: FecLayout, chunkCount: number, block: number): { first: number; count: number } {
  const first = block * layout.k;
  return { first, count: Math.max(0, Math.min(layout.k, chunkCount - first)) };
}

/** Parity shards of a block with `dataCount` chunks: M for a full block, proportionally fewer (at least 1) for a short one. */
export function fecParityCount(layout: FecLayout, dataCount: number): number {
  if (layout.k === 0 || dataCount === 0) return 0;
  return Math.min(layout.m, Math.max(1, Math.ceil((layout.m * dataCount) / layout.k)));
}

/** Shard length of a block whose first chunk is `firstChunkLength` bytes long. */
export function fecShardSize(firstChunkLength: number): number {
  return Math.ceil(firstChunkLength / 8) * 8;
}

interface ReedSolomon {
  create(k: number, m: number): Buffer;
  encode(
    context: Buffer, sources: number, targets: number,
    buffer: Buffer, bufferOffset: number, bufferSize: number,
    parity: Buffer, parityOffset: number, paritySize: number,
    callback: (error?: Error) => void,
  ): void;
}

let codec: ReedSolomon | undefined;

/**
 * The codec, loaded on first use: importing the package must not load a native addon (a worker
 * thread that only parses addresses, a tool that never codes). A native CommonJS addon: ESM
 * cannot import a .node file, so it comes through require.
 */
function reedSolomon(): ReedSolomon {
  return (codec ??= createRequire(import.meta.url)('@ronomon/reed-solomon') as ReedSolomon);
}

const contexts = new Map<string, Buffer>();

function context(k: number, m: number): Buffer {
  const key = `${k}+${m}`;
  let ctx = contexts.get(key);
  if (!ctx) contexts.set(key, (ctx = reedSolomon().create(k, m)));
  return ctx;
}

function run(k: number, m: number, sources: number, targets: number, data: Buffer, parity: Buffer): Promise<void> {
  const rs = reedSolomon();
  return new Promise((resolve, reject) =>
    rs.encode(context(k, m), sources, targets, data, 0, data.length, parity, 0, parity.length, (err) => (err ? reject(err) : resolve())));
}

function mask(from: number, to: number): number {
  let bits = 0;
  for (let i = from; i < to; i++) bits |= 1 << i;
  return bits;
}

/** Copies shards into one zero-padded buffer of `count * shardSize` bytes, as the codec wants them. */
function pack(shards: readonly (Uint8Array | undefined)[], count: number, shardSize: number): Buffer {
  const packed = Buffer.alloc(count * shardSize);
  shards.forEach((s, i) => s && packed.set(s.subarray(0, shardSize), i * shardSize));
  return packed;
}

/**
 * The chunks as one view when they already lie one after the other, each `shardSize` long, in one
 * buffer (a sender's chunks of one read): the codec only reads them, so they need no packed copy.
 */
function adjacent(shards: readonly Uint8Array[], shardSize: number): Buffer | undefined {
  const first = shards[0]!;
  for (let i = 0; i < shards.length; i++) {
    const s = shards[i]!;
    if (s.buffer !== first.buffer || s.length !== shardSize || s.byteOffset !== first.byteOffset + i * shardSize) return undefined;
  }
  return Buffer.from(first.buffer, first.byteOffset, shards.length * shardSize);
}

/**
 * The codec's encoding on the calling thread (a native addon's: protocol code loads none), given
 * the codec's context for k+m: fills `parity` (m shards) from `data` (k shards, one after the other).
 */
export type ParityEncoder = (context: Uint8Array, data: Uint8Array, parity: Uint8Array, shardSize: number) => void;

/**
 * Computes `parityCount` parity shards for one block's data chunks (each at most `shardSize`
 * bytes; shorter ones count as zero-padded). Runs in the libuv thread pool, or with `encoder` on
 * this thread (the same bytes, without a hand-off to the pool and back per block).
 */
export async function fecEncode(data: readonly Uint8Array[], parityCount: number, shardSize: number, encoder?: ParityEncoder): Promise<Buffer[]> {
  const k = data.length;
  if (k < 1 || k > FEC_MAX_K || parityCount < 1 || parityCount > FEC_MAX_M || shardSize % 8 !== 0) {
    throw new RangeError(`cannot encode ${k}+${parityCount} with ${shardSize}-byte shards`);
  }
  const packed = adjacent(data, shardSize) ?? pack(data, k, shardSize);
  const parity = Buffer.alloc(parityCount * shardSize);
  if (encoder) encoder(context(k, parityCount), packed, parity, shardSize);
  else await run(k, parityCount, mask(0, k), mask(k, k + parityCount), packed, parity);
  return Array.from({ length: parityCount }, (_, j) => parity.subarray(j * shardSize, (j + 1) * shardSize));
}

/**
 * Rebuilds the missing data shards of a block from the ones present (data and parity, undefined
 * where lost). At least `data.length` shards in all must be present. Returns the rebuilt shards by
 * data index, each `shardSize` bytes long (the caller trims a short last chunk).
 */
export async function fecRebuild(
  data: readonly (Uint8Array | undefined)[],
  parity: readonly (Uint8Array | undefined)[],
  shardSize: number,
): Promise<Map<number, Buffer>> {
  const k = data.length;
  const m = parity.length;
  const missing = data.flatMap((d, i) => (d ? [] : [i]));
  const rebuilt = new Map<number, Buffer>();
  if (missing.length === 0) return rebuilt;
  const present = [...data, ...parity].flatMap((s, i) => (s ? [i] : []));
  if (present.length < k) throw new RangeError(`${present.length} shards cannot rebuild a block of ${k}`);
  const packedData = pack(data, k, shardSize);
  const packedParity = pack(parity, m, shardSize);
  // Exactly k sources: the codec needs no more, and fewer sources mean less work.
  const sources = present.slice(0, k).reduce((bits, i) => bits | (1 << i), 0);
  const targets = missing.reduce((bits, i) => bits | (1 << i), 0);
  await run(k, m, sources, targets, packedData, packedParity);
  for (const i of missing) rebuilt.set(i, packedData.subarray(i * shardSize, (i + 1) * shardSize));
  return rebuilt;
}
