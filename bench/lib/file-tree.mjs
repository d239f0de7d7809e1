// A share-like tree for the million-file rows: `count` files of 0 to 4 KiB (sizes and contents from
// a fixed seed, so every run makes the same tree) in 1,000 directories. Made once per bench run in
// its temp dir and reused by every row that asks for the same count.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, writeSync } from 'node:fs';
import * as path from 'node:path';

export const TREE_DIRS = 1000;
const MAX_SIZE = 4096;
const SEED = 0x5eed18;

/** mulberry32: a small seeded generator; 32 random bits per call. */
function generator(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Path of file `i` relative to the tree: d<dir>/f<i>.bin, directories filled in turn. */
export function treeFilePath(count, i) {
  const perDir = Math.ceil(count / TREE_DIRS);
  return path.join(`d${String(Math.floor(i / perDir)).padStart(4, '0')}`, `f${String(i).padStart(7, '0')}.bin`);
}

const made = new Map();

/**
 * <work>/data/tree-<count>: returns { dir, count, dirs, bytes, diskMB, seconds } (seconds: how long
 * making it took this run; 0 when an earlier row made it).
 */
export function fileTree(ctx, count) {
  if (made.has(count)) return { ...made.get(count), seconds: 0, reused: true };
  const dir = path.join(ctx.work, 'data', `tree-${count}`);
  const started = performance.now();
  const random = generator(SEED);
  // Contents are slices of one seeded pool at seeded offsets, each stamped with its index, so no
  // two files of 4 bytes or more are alike (nothing can be deduplicated) and no byte is generated twice.
  const pool = Buffer.alloc(1 << 20);
  for (let i = 0; i < pool.length; i += 4) pool.writeUInt32LE(random(), i);
  const scratch = Buffer.alloc(MAX_SIZE);
  let bytes = 0;
  let lastDir = '';
  for (let i = 0; i < count; i++) {
    const rel = treeFilePath(count, i);
    const sub = path.dirname(rel);
    if (sub !== lastDir) {
      mkdirSync(path.join(dir, sub), { recursive: true });
      lastDir = sub;
    }
    const size = random() % (MAX_SIZE + 1);
    const offset = random() % (pool.length - MAX_SIZE);
    pool.copy(scratch, 0, offset, offset + size);
    if (size >= 4) scratch.writeUInt32LE(i, 0);
    // openSync + writeSync: no promise or callback per file; a million files is syscalls, nothing more.
    const fd = openSync(path.join(dir, rel), 'w');
    if (size > 0) writeSync(fd, scratch, 0, size);
    closeSync(fd);
    bytes += size;
  }
  const seconds = (performance.now() - started) / 1000;
  const du = spawnSync('du', ['-sk', dir], { encoding: 'utf8' });
  const diskMB = du.status === 0 ? Number(du.stdout.split('\t')[0]) / 1024 : NaN;
  const tree = { dir, count, dirs: Math.min(TREE_DIRS, count), bytes, diskMB };
  made.set(count, tree);
  return { ...tree, seconds, reused: false };
}

/** Files under `dir` (names starting with '.' left out: a receiver's temporaries): how far a mirror got. */
export function countFiles(dir) {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    if (e.isDirectory()) n += countFiles(path.join(dir, e.name));
    else if (e.isFile()) n++;
  }
  return n;
}
