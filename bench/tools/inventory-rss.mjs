#!/usr/bin/env node
// The sender's memory and CPU on a tree of many small files, watching (issue 18): RSS and CPU
// (utime + stime from /proc) at 20 s, 60 s and 120 s, then idle CPU over 60 s once all was sent,
// then the time from writing one new file to its file-sent line.
// Not part of run.mjs. Usage:
//   node bench/tools/inventory-rss.mjs [--files 100000] [--dirs 100] [--bin packages/sender/bin/diode-send.js]
//        [--src DIR (kept; made if missing)] [--idle 60] [--extra='--rescan 60' (more sender options)]
// A UDP drain on 127.0.0.1 takes the frames; the sender runs with --rate 500m -R 1, no --once.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: o } = parseArgs({
  options: {
    files: { type: 'string', default: '100000' },
    dirs: { type: 'string', default: '100' },
    bin: { type: 'string', default: path.join(here, '../../packages/sender/bin/diode-send.js') },
    src: { type: 'string' },
    idle: { type: 'string', default: '60' },
    extra: { type: 'string', default: '' },
  },
});
const files = Number(o.files);
const dirs = Number(o.dirs);
const work = mkdtempSync(path.join(tmpdir(), 'inventory-rss-'));
const src = o.src ?? path.join(work, 'src');

function makeTree() {
  if (existsSync(path.join(src, '.made'))) return;
  let seed = 1;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const block = Buffer.alloc(4096);
  for (let d = 0; d < dirs; d++) mkdirSync(path.join(src, `d${String(d).padStart(4, '0')}`), { recursive: true });
  for (let i = 0; i < files; i++) {
    block.writeUInt32BE(i, 0);
    writeFileSync(path.join(src, `d${String(i % dirs).padStart(4, '0')}`, `f${i}.bin`), block.subarray(0, Math.floor(random() * 4097)));
  }
  writeFileSync(path.join(src, '.made'), '');
}

/** utime + stime (s) and RSS (MB) of a process, from /proc. */
function sample(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  return { cpuS: ticks / 100, rssMB: Math.round(rss / 1024) };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const t0 = Date.now();
makeTree();
console.error(`tree: ${files} files in ${dirs} dirs at ${src} (${Math.round((Date.now() - t0) / 1000)} s to make)`);
const drain = createSocket('udp4');
let datagrams = 0;
drain.on('message', () => datagrams++);
await new Promise((r) => drain.bind(0, '127.0.0.1', r));
drain.setRecvBufferSize?.(8 * 1024 * 1024);
const port = drain.address().port;

const args = [o.bin, src, '--to', `udp://127.0.0.1:${port}`, '--rate', '500m', '-R', '1', '--ledger', path.join(work, 'ledger.sqlite'), ...o.extra.split(' ').filter(Boolean)];
const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
let manifests = 0;
let sentAt;
let tail = '';
/** Paths whose file-sent line has come, with when. */
const fileSentAt = new Map();
const started = Date.now();
child.stderr.setEncoding('utf8');
child.stderr.on('data', (chunk) => {
  tail = (tail + chunk).slice(-4000);
  for (const line of chunk.split('\n')) {
    if (line.includes('"file-sent"') && line.includes('changed-')) fileSentAt.set(/"path":"([^"]+)"/.exec(line)?.[1], Date.now());
    if (line.includes('manifest-sent')) {
      manifests++;
      sentAt ??= Date.now();
    }
  }
});
// The peak during the first send, sampled every 2 s (VmHWM would include the walk's transient peak too).
let peakRssMB = 0;
const peakTimer = setInterval(() => {
  if (child.exitCode === null && sentAt === undefined) peakRssMB = Math.max(peakRssMB, sample(child.pid).rssMB);
}, 2000);
const rows = [];
for (const at of [20, 60, 120]) {
  await sleep(started + at * 1000 - Date.now());
  if (child.exitCode !== null) break;
  rows.push({ at, ...sample(child.pid), allSent: sentAt !== undefined });
  console.error(JSON.stringify(rows.at(-1)));
}
while (sentAt === undefined && child.exitCode === null && Date.now() - started < 1_800_000) await sleep(1000);
clearInterval(peakTimer);
const hwmMB = child.exitCode === null ? Math.round(Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]) / 1024) : null;
let idle;
if (child.exitCode === null) {
  await sleep(2000);
  const a = sample(child.pid);
  await sleep(Number(o.idle) * 1000);
  const b = sample(child.pid);
  idle = { seconds: Number(o.idle), cpuS: +(b.cpuS - a.cpuS).toFixed(2), corePercent: +((100 * (b.cpuS - a.cpuS)) / Number(o.idle)).toFixed(2), rssMB: b.rssMB };
}
// One file changed while watching, deep in the tree: how long until its file-sent line (--settle is 2 s).
let changedFileMs;
if (child.exitCode === null) {
  const rel = `d${String(Math.floor(dirs / 2)).padStart(4, '0')}/changed-${Date.now()}.bin`;
  const at = Date.now();
  writeFileSync(path.join(src, rel), 'changed while watching\n');
  while (!fileSentAt.has(rel) && Date.now() - at < 120_000) await sleep(20);
  changedFileMs = fileSentAt.has(rel) ? fileSentAt.get(rel) - at : null;
  rmSync(path.join(src, rel), { force: true });
}
const result = { files, dirs, bin: o.bin, samples: rows, allSentAfterS: sentAt ? Math.round((sentAt - started) / 1000) : null, peakRssMBDuringSend: peakRssMB, hwmMB, idle, changedFileMs, datagrams };
console.log(JSON.stringify(result, null, 2));
child.kill('SIGTERM');
await new Promise((r) => (child.exitCode !== null ? r() : child.on('exit', r)));
if (!sentAt) console.error(tail);
drain.close();
rmSync(work, { recursive: true, force: true });
