import { Packr } from 'msgpackr';
import { MAX_PAYLOAD } from './constants.js';
import { ProtocolError } from './errors.js';
import { fecLayoutProblem } from './fec.js';
import { pathFromWire, pathToBytes, pathToWire } from './path-bytes.js';

// Plain maps and arrays only: no records, no extensions, so a hostile payload decodes to data, never to behaviour.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, bundleStrings: false });

/** What an object carries: a file of the tree, or the sender's manifest of the whole tree. */
export type ObjectKind = 'file' | 'manifest';

/** Announces one object (file version or manifest); repeated during its data so a lost copy costs little. */
export interface ObjectHeader {
  kind: ObjectKind;
  /**
   * Relative path with '/' separators; '' for a manifest. Untrusted: the receiver checks it.
   * Bytes that are not UTF-8 are escaped (see path-bytes.ts) and travel as raw bytes.
   */
  path: string;
  size: number;
  mtimeMs: number;
  /** The same mtime in nanoseconds since the epoch, as the file system keeps it (may be negative). */
  mtimeNs?: bigint;
  /** Permission bits (0o7777 at most). */
  mode: number;
  /**
   * SHA-256 of the whole object. Absent: the hash follows the data. A large file's first send reads
   * it once, framing and hashing the same reads, so its header goes out without the hash and again,
   * with it, once the file is read (the receiver verifies nothing before that).
   */
  sha256?: Buffer;
  chunkSize: number;
  chunkCount: number;
  /** Sender-side version id of this file content (ledger row), 0 when unknown. */
  version: number;
  /** FEC layout (see fec.ts): K data chunks per block, M parity shards per block; 0 and 0 without FEC. */
  fecK: number;
  fecM: number;
}

/** A header that carries its object's hash: what an object is verified against. */
export type HashedHeader = ObjectHeader & { sha256: Buffer };

export function hashKnown(h: ObjectHeader): h is HashedHeader {
  return h.sha256 !== undefined;
}

export interface ManifestFile {
  path: string;
  size: number;
  mtimeMs: number;
  sha256: Buffer;
}

/**
 * What a manifest covers. A piece: one range of a full manifest cycle, paths strictly after
 * `from` (undefined: from the first) up to and including `to` (undefined: to the last), in wire
 * byte order (`comparePaths`); it lists every file ever sent and every directory in that range, so
 * it is usable alone. `count` is the number of pieces of the cycle, 0 until the sender knows it
 * (a paced cycle learns it at its last piece). An old whole manifest decodes as piece 0 of 1
 * covering everything. A delta: files sent and paths removed since the previous delta, numbered.
 */
export type ManifestScope =
  | { kind: 'piece'; cycle: number; index: number; count: number; from?: string; to?: string }
  | { kind: 'delta'; seq: number; removed: string[] };

/** Every file and directory the sender holds at the end of a pass, or one piece or delta of them. */
export interface Manifest {
  createdAt: number;
  pass: number;
  passes: number;
  files: ManifestFile[];
  dirs: string[];
  /** Absent when encoding: a whole manifest (one piece covering everything). */
  scope?: ManifestScope;
}

/** Entries (files + dirs + removed paths) one piece or delta may carry: bounds what decoding one costs. */
export const MAX_MANIFEST_PART_ENTRIES = 200_000;

/** Wire byte order of two paths (what `from`/`to` of a piece mean). */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(pathToBytes(a), pathToBytes(b));
}

/** True if `p` lies in the range of a piece: after `from`, up to and including `to`. */
export function inPieceRange(p: string, from: string | undefined, to: string | undefined): boolean {
  const bytes = pathToBytes(p);
  return (from === undefined || Buffer.compare(bytes, pathToBytes(from)) > 0) && (to === undefined || Buffer.compare(bytes, pathToBytes(to)) <= 0);
}

export interface Heartbeat {
  sessionId: number;
  host: string;
  startedAt: number;
  sentAt: number;
  intervalMs: number;
  framesSent: number;
  bytesSent: number;
  filesSent: number;
  queueDepth: number;
  pass: number;
  passes: number;
  /** When the next redundancy pass is due (ms since epoch), 0 if none. */
  nextPassAt: number;
}

export type ChangeOp = 'delete' | 'rename';
export interface Change {
  op: ChangeOp;
  path: string;
  /** rename only: the new path ('' for a delete). */
  to: string;
  /** Hash of the content deleted or moved: a receiver touches only a file that still has it. */
  sha256: Buffer;
}

export function chunkCountFor(size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize);
}

function decode(payload: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = packr.unpack(payload);
  } catch {
    throw new ProtocolError(`${what}: payload is not valid msgpack`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ProtocolError(`${what}: not a map`);
  return value as Record<string, unknown>;
}

function int(v: unknown, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new ProtocolError(`bad ${what}`);
  return v;
}
function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ProtocolError(`bad ${what}`);
  return v;
}
function str(v: unknown, what: string, maxBytes = 4096): string {
  if (typeof v !== 'string' || Buffer.byteLength(v) > maxBytes) throw new ProtocolError(`bad ${what}`);
  return v;
}
function path(v: unknown, what: string, maxBytes = 4096): string {
  const p = pathFromWire(v);
  const bytes = typeof v === 'string' ? Buffer.byteLength(v) : (v as Uint8Array | undefined)?.length ?? 0;
  if (p === undefined || bytes > maxBytes) throw new ProtocolError(`bad ${what}`);
  return p;
}
/** Nanoseconds as a decimal string: msgpack has no integer wide enough for every time_t. */
function nanos(v: unknown, what: string): bigint {
  if (typeof v !== 'string' || !/^-?\d{1,21}$/.test(v)) throw new ProtocolError(`bad ${what}`);
  return BigInt(v);
}
function hash(v: unknown, what: string): Buffer {
  if (!(v instanceof Uint8Array) || v.length !== 32) throw new ProtocolError(`bad ${what}`);
  return Buffer.from(v.buffer, v.byteOffset, v.length);
}

export function encodeObjectHeader(h: ObjectHeader): Buffer {
  return packr.pack({
    kind: h.kind, path: pathToWire(h.path), size: h.size, mtimeMs: h.mtimeMs, mode: h.mode,
    ...(h.sha256 && { sha256: h.sha256 }), chunkSize: h.chunkSize, chunkCount: h.chunkCount, version: h.version,
    fecK: h.fecK, fecM: h.fecM,
    ...(h.mtimeNs === undefined ? {} : { mtimeNs: h.mtimeNs.toString() }),
  });
}

export function decodeObjectHeader(payload: Uint8Array): ObjectHeader {
  const m = decode(payload, 'object header');
  if (m.kind !== 'file' && m.kind !== 'manifest') throw new ProtocolError('bad object kind');
  const size = int(m.size, 'size');
  const chunkSize = int(m.chunkSize, 'chunk size', 1, MAX_PAYLOAD);
  const chunkCount = int(m.chunkCount, 'chunk count');
  if (chunkCount !== chunkCountFor(size, chunkSize)) throw new ProtocolError('chunk count does not match size');
  const fec = { k: int(m.fecK, 'FEC K', 0, 255), m: int(m.fecM, 'FEC M', 0, 255) };
  if (fecLayoutProblem(fec)) throw new ProtocolError('bad FEC layout');
  // Full chunks are whole shards: a parity frame is never longer than a data frame.
  if (fec.k > 0 && chunkSize % 8 !== 0) throw new ProtocolError('chunk size is not a multiple of 8 with FEC');
  return {
    kind: m.kind,
    path: path(m.path, 'path'),
    size,
    mtimeMs: num(m.mtimeMs, 'mtime'),
    ...(m.mtimeNs === undefined ? {} : { mtimeNs: nanos(m.mtimeNs, 'mtime') }),
    mode: int(m.mode, 'mode', 0, 0o7777),
    ...(m.sha256 === undefined ? {} : { sha256: hash(m.sha256, 'sha256') }),
    chunkSize,
    chunkCount,
    version: int(m.version, 'version'),
    fecK: fec.k,
    fecM: fec.m,
  };
}

export function encodeManifest(m: Manifest): Buffer {
  const scope = m.scope;
  return packr.pack({
    createdAt: m.createdAt, pass: m.pass, passes: m.passes,
    files: m.files.map((f) => [pathToWire(f.path), f.size, f.mtimeMs, f.sha256]),
    dirs: m.dirs.map(pathToWire),
    ...(scope?.kind === 'piece' && {
      piece: [scope.cycle, scope.index, scope.count, scope.from === undefined ? null : pathToWire(scope.from), scope.to === undefined ? null : pathToWire(scope.to)],
    }),
    ...(scope?.kind === 'delta' && { delta: [scope.seq, scope.removed.map(pathToWire)] }),
  });
}

export function decodeManifest(payload: Uint8Array): Manifest {
  const m = decode(payload, 'manifest');
  if (!Array.isArray(m.files) || !Array.isArray(m.dirs)) throw new ProtocolError('bad manifest lists');
  const pass = int(m.pass, 'pass');
  const scope = decodeScope(m, pass);
  // A piece or a delta is small (the sender keeps them to about 10,000 files); only an old whole manifest may be large.
  const entries = m.files.length + m.dirs.length + (scope.kind === 'delta' ? scope.removed.length : 0);
  if ((m.piece !== undefined || m.delta !== undefined) && entries > MAX_MANIFEST_PART_ENTRIES) throw new ProtocolError('manifest piece too large');
  const files = m.files.map((f: unknown) => {
    if (!Array.isArray(f) || f.length !== 4) throw new ProtocolError('bad manifest entry');
    return { path: path(f[0], 'path'), size: int(f[1], 'size'), mtimeMs: num(f[2], 'mtime'), sha256: hash(f[3], 'sha256') };
  });
  const dirs = m.dirs.map((d: unknown) => path(d, 'dir'));
  if (scope.kind === 'piece' && (scope.from !== undefined || scope.to !== undefined)) {
    for (const p of [...files.map((f) => f.path), ...dirs]) if (!inPieceRange(p, scope.from, scope.to)) throw new ProtocolError('manifest piece lists a path outside its range');
  }
  return { createdAt: num(m.createdAt, 'manifest time'), pass, passes: int(m.passes, 'passes'), files, dirs, scope };
}

function decodeScope(m: Record<string, unknown>, pass: number): ManifestScope {
  if (m.piece !== undefined && m.delta !== undefined) throw new ProtocolError('manifest is both a piece and a delta');
  if (m.delta !== undefined) {
    if (!Array.isArray(m.delta) || m.delta.length !== 2 || !Array.isArray(m.delta[1])) throw new ProtocolError('bad manifest delta');
    if (m.delta[1].length > MAX_MANIFEST_PART_ENTRIES) throw new ProtocolError('manifest piece too large');
    return { kind: 'delta', seq: int(m.delta[0], 'delta number'), removed: m.delta[1].map((p: unknown) => path(p, 'removed path')) };
  }
  if (m.piece === undefined) return { kind: 'piece', cycle: pass, index: 0, count: 1 };
  if (!Array.isArray(m.piece) || m.piece.length !== 5) throw new ProtocolError('bad manifest piece');
  const [cycle, index, count, from, to] = m.piece as unknown[];
  const scope: ManifestScope = { kind: 'piece', cycle: int(cycle, 'cycle'), index: int(index, 'piece index'), count: int(count, 'piece count') };
  if (scope.count !== 0 && scope.index >= scope.count) throw new ProtocolError('bad piece index');
  if (from !== null) scope.from = path(from, 'piece start');
  if (to !== null) scope.to = path(to, 'piece end');
  if (scope.from !== undefined && scope.to !== undefined && comparePaths(scope.from, scope.to) >= 0) throw new ProtocolError('bad piece range');
  return scope;
}

export function encodeHeartbeat(h: Heartbeat): Buffer {
  return packr.pack({ ...h });
}

export function decodeHeartbeat(payload: Uint8Array): Heartbeat {
  const m = decode(payload, 'heartbeat');
  return {
    sessionId: int(m.sessionId, 'session id', 0, 0xffff_ffff),
    host: str(m.host, 'host', 255),
    startedAt: num(m.startedAt, 'start time'),
    sentAt: num(m.sentAt, 'send time'),
    intervalMs: int(m.intervalMs, 'interval'),
    framesSent: int(m.framesSent, 'frame count'),
    bytesSent: int(m.bytesSent, 'byte count'),
    filesSent: int(m.filesSent, 'file count'),
    queueDepth: int(m.queueDepth, 'queue depth'),
    pass: int(m.pass, 'pass'),
    passes: int(m.passes, 'passes'),
    nextPassAt: num(m.nextPassAt, 'next pass time'),
  };
}

export function encodeChange(c: Change): Buffer {
  return packr.pack({ op: c.op, path: pathToWire(c.path), to: pathToWire(c.to), sha256: c.sha256 });
}

export function decodeChange(payload: Uint8Array): Change {
  const m = decode(payload, 'change');
  if (m.op !== 'delete' && m.op !== 'rename') throw new ProtocolError('bad change op');
  return {
    op: m.op,
    path: path(m.path, 'path'),
    to: m.op === 'rename' ? path(m.to, 'rename target') : '',
    sha256: hash(m.sha256, 'sha256'),
  };
}
