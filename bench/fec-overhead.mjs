#!/usr/bin/env node
// What FEC and interleaving cost on the wire for trees of small files: frames and bytes of one pass.
// Usage: node bench/fec-overhead.mjs   (build first: npx tsc -b)
// diode-send --once --to - (stdout, thrown away) at an unbounded rate; the numbers are the sender's
// own `done` counters. File sizes come from a fixed seed, so the frame counts are the same each run.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sendCli = path.join(repo, 'packages', 'sender', 'dist', 'cli.js');
const CHUNK = 1424; // MTU 1500 with FEC

let seed = 7; // mulberry32
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
  return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
};
const sized = (maxChunks) => {
  const chunks = 1 + Math.floor(random() * maxChunks);
  return (chunks - 1) * CHUNK + 1 + Math.floor(random() * CHUNK);
};

const root = mkdtempSync(path.join(tmpdir(), 'diodesync-fec-overhead-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
function tree(name, files) {
  for (const [rel, size] of files) {
    mkdirSync(path.dirname(path.join(root, name, rel)), { recursive: true });
    writeFileSync(path.join(root, name, rel), randomBytes(size));
  }
  return { name, dir: path.join(root, name), files: files.length, bytes: files.reduce((n, [, s]) => n + s, 0) };
}
const trees = [
  tree('300 files of 1-30 chunks + 4 MB + 2 MB', [
    ...Array.from({ length: 300 }, (_, i) => [`s${i % 10}/f${i}`, sized(30)]),
    ['big/a.bin', 4_000_000], ['big/b.bin', 2_000_000],
  ]),
  tree('500 files of 1-4 chunks', Array.from({ length: 500 }, (_, i) => [`t${i % 10}/f${i}`, sized(4)])),
];
const settings = [
  ['fec 0', ['--fec', '0']],
  ['20+4 D=1', ['--fec', '20+4', '--interleave', '1']],
  ['20+4 D=16 (defaults)', ['--fec', '20+4', '--interleave', '16']],
];

function send(dir, argv) {
  const state = mkdtempSync(path.join(root, 'state-'));
  const child = spawn(process.execPath, [sendCli, dir, '--to', '-', '--once', '--rate', '100g', '-R', '1', ...argv], {
    stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DIODESYNC_LOG: 'json', XDG_STATE_HOME: state },
  });
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  return new Promise((resolve, reject) => child.on('close', (code) => {
    const done = log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((e) => e.event === 'done');
    if (code !== 0 || !done) reject(new Error(`diode-send exited ${code}: ${log}`));
    else resolve(done);
  }));
}

console.log(`| tree | ${settings.map(([s]) => s).join(' | ')} |`);
console.log(`|---|${settings.map(() => '---').join('|')}|`);
for (const t of trees) {
  const cells = [];
  let base;
  for (const [, argv] of settings) {
    const done = await send(t.dir, argv);
    base ??= done;
    const pct = (a, b) => `${a >= b ? '+' : ''}${(((a - b) / b) * 100).toFixed(1)}%`;
    cells.push(`${done.frames} frames, ${done.wireBytes} B` + (done === base ? '' : ` (${pct(done.frames, base.frames)}, ${pct(done.wireBytes, base.wireBytes)})`));
  }
  console.log(`| ${t.name}: ${t.bytes} B | ${cells.join(' | ')} |`);
}
