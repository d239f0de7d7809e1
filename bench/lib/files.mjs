// Test data: random files generated once per bench run (kept in its temp dir, reused by every row
// of the same size), trees of small files, and SHA-256 to check that a mirror is byte-identical.
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import * as path from 'node:path';

/** <work>/data/random-<bytes>/file.bin: a directory holding one random file, made on first use. */
export function randomTree(ctx, bytes) {
  const dir = path.join(ctx.work, 'data', `random-${bytes}`);
  const file = path.join(dir, 'file.bin');
  if (existsSync(file)) return { dir, file, bytes };
  mkdirSync(dir, { recursive: true });
  const fd = openSync(file, 'w');
  const block = Buffer.allocUnsafe(8 * 1024 * 1024);
  for (let done = 0; done < bytes; done += block.length) {
    randomFillSync(block); // fresh content per block: nothing on the way can dedupe or compress it
    writeSync(fd, block, 0, Math.min(block.length, bytes - done));
  }
  closeSync(fd);
  return { dir, file, bytes };
}

/** <work>/data/small-<count>: `count` files of 4 KiB in directories of 100. */
export function smallTree(ctx, count) {
  const dir = path.join(ctx.work, 'data', `small-${count}`);
  if (existsSync(dir)) return dir;
  const block = Buffer.allocUnsafe(4096);
  for (let i = 0; i < count; i++) {
    const sub = path.join(dir, `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) mkdirSync(sub, { recursive: true });
    writeFileSync(path.join(sub, `f${i % 100}.bin`), randomFillSync(block));
  }
  return dir;
}

const hashes = new Map();
export function sha256(file) {
  const h = createHash('sha256');
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(8 * 1024 * 1024);
  for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  closeSync(fd);
  return h.digest('hex');
}
/** The source's hash, computed once per run. */
export function sourceHash(file) {
  if (!hashes.has(file)) hashes.set(file, sha256(file));
  return hashes.get(file);
}

/** Whether `mirror` holds every file of `source` (same relative paths) byte for byte. */
export function sameFile(source, mirror) {
  return existsSync(mirror) && sha256(mirror) === sourceHash(source);
}

/** Whether `mirror` holds every file under `source`, byte for byte. */
export function sameTree(source, mirror) {
  for (const entry of readdirSync(source, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const rel = path.relative(source, path.join(entry.parentPath ?? entry.path, entry.name));
    const copy = path.join(mirror, rel);
    if (!existsSync(copy) || !readFileSync(copy).equals(readFileSync(path.join(source, rel)))) return false;
  }
  return true;
}
