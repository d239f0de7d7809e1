#!/usr/bin/env node
// Loss pattern x FEC setting -> files delivered and wire overhead, through diode-impair over loopback.
// Usage: node bench/impair-matrix.mjs [--rate 100m] [--seed 7] [--only TEXT]   (build first: npx tsc -b)
// --only runs the loss patterns whose name contains TEXT.
// Each cell is one run of the built CLIs: diode-send --once -> diode-impair -> diode-receive
// --exit-when-synced. "delivered" counts files byte-identical in the mirror; "wire/tree" is the
// sender's wire bytes (headers, parity, every pass) over the tree's bytes.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = (pkg, file = 'cli.js') => path.join(repo, 'packages', pkg, 'dist', file);
const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const rate = opt('--rate', '100m');
const seed = opt('--seed', '7');

const patterns = [
  ['none', []],
  ['1% random', ['--loss', '0.01']],
  ['5% random', ['--loss', '0.05']],
  ['10% random', ['--loss', '0.1']],
  ['GE p=0.002 r=0.1 (~2%, bursts ~10)', ['--ge', '0.002,0.1']],
  ['bursts 20/1000', ['--burst', '20/1000']],
  ['bursts 16/200 (16 = default depth)', ['--burst', '16/200']],
].filter(([name]) => name.includes(opt('--only', '')));
const settings = [
  ['fec 0, R=1', ['--fec', '0', '-R', '1']],
  ['fec 0, R=2', ['--fec', '0', '-R', '2']],
  ['20+4 D=1, R=1', ['--fec', '20+4', '--interleave', '1', '-R', '1']],
  ['20+4 D=20, R=1', ['--fec', '20+4', '--interleave', '20', '-R', '1']],
  ['20+4 D=16, R=2 (defaults)', ['--fec', '20+4', '--interleave', '16', '-R', '2']],
];

const root = mkdtempSync(path.join(tmpdir(), 'diodesync-matrix-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
const src = path.join(root, 'src');
mkdirSync(path.join(src, 'small'), { recursive: true });
writeFileSync(path.join(src, 'big.bin'), randomBytes(4_000_000));
writeFileSync(path.join(src, 'mid.bin'), randomBytes(1_000_000));
for (let i = 1; i <= 20; i++) writeFileSync(path.join(src, 'small', `f${i}.bin`), randomBytes(i * 1500));
const files = ['big.bin', 'mid.bin', ...Array.from({ length: 20 }, (_, i) => `small/f${i + 1}.bin`)];
const treeBytes = files.reduce((n, f) => n + readFileSync(path.join(src, f)).length, 0);

function run(file, argv) {
  const child = spawn(process.execPath, [file, ...argv], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DIODESYNC_LOG: 'json' } });
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise((resolve) => child.on('close', (code) => resolve(code)));
  const event = (name) => log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((e) => e.event === name);
  const waitFor = async (name) => {
    for (let i = 0; i < 200 && !event(name); i++) await new Promise((r) => setTimeout(r, 50));
    return event(name);
  };
  return { child, exited, event, waitFor };
}

console.log(`tree: ${files.length} files, ${treeBytes} bytes; rate ${rate}; relay seed ${seed}`);
console.log(`| loss pattern | ${settings.map(([s]) => s).join(' | ')} |`);
console.log(`|---|${settings.map(() => '---').join('|')}|`);
for (const [pattern, impair] of patterns) {
  const cells = [];
  for (const [, send] of settings) {
    const dest = path.join(root, 'dest');
    rmSync(dest, { recursive: true, force: true });
    rmSync(path.join(root, '.dest.diodesync'), { recursive: true, force: true });
    const receiver = run(cli('receiver'), [dest, '--listen', 'udp://127.0.0.1:0', '--exit-when-synced', '--timeout', '6']);
    const rport = (await receiver.waitFor('listening')).port;
    const relay = run(cli('impair', 'impair-cli.js'), ['--listen', 'udp://127.0.0.1:0', '--to', `udp://127.0.0.1:${rport}`, '--seed', seed, '--stats', '0', ...impair]);
    const pport = (await relay.waitFor('listening')).port;
    const sender = run(cli('sender'), [src, '--to', `udp://127.0.0.1:${pport}`, '--once', '--rate', rate, ...send]);
    await sender.exited;
    await receiver.exited;
    relay.child.kill('SIGTERM');
    await relay.exited;
    const done = sender.event('done');
    const exit = receiver.event('exit');
    const delivered = files.filter((f) => {
      const p = path.join(dest, f);
      return existsSync(p) && readFileSync(p).equals(readFileSync(path.join(src, f)));
    }).length;
    const present = existsSync(dest) ? readdirSync(dest, { recursive: true }).length : 0;
    void present;
    cells.push(`${delivered}/${files.length}${exit?.synced ? '' : ' (no sync)'}, ${(done.wireBytes / treeBytes).toFixed(2)}x, fix ${exit?.fecRepairedChunks ?? 0}`);
  }
  console.log(`| ${pattern} | ${cells.join(' | ')} |`);
}
