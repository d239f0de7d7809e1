// Loads the addon (build/Release/diodesync_native.node, compiled by node-gyp on
// npm install) once, or records why not; every caller then takes its
// pure-Node fallback.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The addon's raw functions (the wrappers in this package are the API). */
export interface NativeBinding {
  /** utimensat(AT_FDCWD, path, [atime, mtime], 0): 0, or the errno. */
  setFileTimes(path: string | Buffer, atimeNs: bigint, mtimeNs: bigint): number;
  /** What the kernel offers for batched UDP (batch: false off Linux). */
  udpProbe(): { batch: boolean; gso: boolean; gro: boolean; reason: string };
  /** Linux only: a UDP socket with batched I/O (src/udp.cc; udp.ts is the API). */
  UdpSocket?: new (options: NativeUdpOptions) => NativeUdpSocket;
  /** Linux only: a promiscuous AF_PACKET socket with a BPF filter (src/capture.cc; capture.ts is the API). */
  PacketSocket?: new (options: { interface: string; filter: Uint32Array; rcvbuf: number }) => NativePacketSocket;
  /** Linux only: sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE) on the thread pool; resolves 0 or the errno (src/writeback.cc). */
  startWriteback?: (fd: number, offset: number, length: number) => Promise<number>;
  /** The parity shards of one Reed-Solomon block on the calling thread, from @ronomon/reed-solomon's context (src/parity.cc); throws RangeError on a mismatch. */
  encodeParity?: (context: Uint8Array, data: Uint8Array, parity: Uint8Array, shardSize: number) => void;
  /** How encodeParity runs on this CPU: 32 bytes a step (AVX2), or 8. */
  parityPath: 'avx2' | 'words';
  /** IEEE CRC-32 of bytes[start, end) (src/crc32.cc); throws RangeError outside the bytes. */
  crc32(bytes: Uint8Array, start: number, end: number): number;
  /** The CRC path the CPU allows. */
  crc32Path: 'pclmul' | 'table';
}

/** Throws Error{errno (negative), syscall}; capture.ts names the code. */
export interface NativePacketSocket {
  recvBatch(ring: Uint8Array, slotSize: number, maxSlots: number, lengths: Uint32Array, timeoutMs: number): number;
  close(): void;
  info(): { ifindex: number; rcvbuf: number; ignoreOutgoing: boolean; closed: boolean; drops: number };
}

/** What udp.ts passes the native UdpSocket constructor (addresses are IP literals). */
export interface NativeUdpOptions {
  family: 4 | 6;
  bindAddress: string;
  bindPort: number;
  connectAddress?: string;
  connectPort?: number;
  reuseAddr: boolean;
  broadcast: boolean;
  /** 0: leave the kernel's default. */
  sndbuf: number;
  rcvbuf: number;
  /** -1: leave the default. */
  multicastTtl: number;
  multicastInterface?: string;
  /** -1: leave the default; 0 or 1. */
  multicastLoop: number;
  joinGroup?: string;
  joinInterface?: string;
  gso: boolean;
  gro: boolean;
  sendTimeoutMs: number;
  /** Tests only: SO_NO_CHECK, with which the kernel refuses GSO (EINVAL). */
  noCheck?: boolean;
}

export interface NativeUdpInfo {
  address: string;
  port: number;
  sndbuf: number;
  rcvbuf: number;
  gso: boolean;
  gsoReason: string;
  gsoUsed: boolean;
  gro: boolean;
  groReason: string;
  refused: number;
  closed: boolean;
}

/** Throws Error{errno (negative), syscall, address?, port?, sent?}; udp.ts names the code. */
export interface NativeUdpSocket {
  sendBatch(buffer: Uint8Array, lengths: Uint32Array | Int32Array | null, frameSize: number, count: number,
    offsets: Uint32Array | Int32Array | null, toAddress?: string, toPort?: number): number;
  recvBatch(ring: Uint8Array, slotSize: number, firstSlot: number, maxSlots: number, lengths: Uint32Array | Int32Array,
    segments: Uint32Array | Int32Array | null, timeoutMs: number): number;
  recvPacked(ring: Uint8Array, at: number, stride: number, count: number, spill: Uint8Array, lengths: Uint32Array | Int32Array,
    segments: Uint32Array | Int32Array | null, firstEntry: number, timeoutMs: number): number;
  close(): void;
  info(): NativeUdpInfo;
}

export interface NativeIo {
  /** true when the addon is loaded and the native paths run. */
  readonly available: boolean;
  /** Why not, when not; which file was loaded, when it was. */
  readonly reason: string;
}

const ADDON_FILE = fileURLToPath(new URL('../build/Release/diodesync_native.node', import.meta.url));
const NOT_BUILT_FILE = fileURLToPath(new URL('../build/not-built.txt', import.meta.url));
// UdpSocket is not among them: it exists on Linux only, and udp.ts says so when it is absent.
const FUNCTIONS: readonly (keyof NativeBinding)[] = ['setFileTimes', 'udpProbe', 'crc32'];

function load(): { binding: NativeBinding | undefined; io: NativeIo } {
  const off = (reason: string) => ({ binding: undefined, io: { available: false, reason } });
  if (process.env.DIODESYNC_NATIVE === '0') return off('disabled by DIODESYNC_NATIVE=0');
  let mod: Partial<NativeBinding>;
  try {
    mod = createRequire(import.meta.url)(ADDON_FILE) as Partial<NativeBinding>;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'MODULE_NOT_FOUND') {
      let why: string;
      try {
        why = readFileSync(NOT_BUILT_FILE, 'utf8').trim(); // left by scripts/build-addon.mjs
      } catch {
        why = `${ADDON_FILE} is missing`;
      }
      return off(`addon not built: ${why}; \`npm run build:addon -w @diodesync/native\` builds it or shows why not`);
    }
    return off(`addon failed to load: ${e.message.split('\n')[0]}`);
  }
  const missing = FUNCTIONS.filter((name) => typeof mod[name] !== 'function');
  if (missing.length > 0) {
    return off(`addon ${ADDON_FILE} lacks ${missing.join(', ')} (stale build? run npm rebuild)`);
  }
  return { binding: mod as NativeBinding, io: { available: true, reason: `addon loaded from ${ADDON_FILE}` } };
}

const loaded = load();

/** The addon, or undefined when the fallbacks run. */
export const binding: NativeBinding | undefined = loaded.binding;

/** Whether the native paths run, and why not when not. DIODESYNC_NATIVE=0 turns them off. */
export const nativeIo: NativeIo = Object.freeze(loaded.io);
