#!/usr/bin/env node
// npm run bench [-- --quick] [-- --only ROW,...] [-- --size MB] [-- --runs N] [-- --out FILE] [-- --tmp DIR]
//
// The rows of issue 14, each with CPU nanoseconds per frame of each side (user + system CPU of the
// process, every thread, over the frames it sent or received), Gb/s, peak RSS, the issue's target
// and the ratio; a Markdown table at the end and bench/results/<time>.json (or --out FILE).
//   sender      sender alone to a C recvmmsg drain, 1472 B, FEC off and 20+4
//   receiver    receiver alone, fed a sendmmsg replay of recorded datagrams (no GRO)
//   paired      highest intact --rate in 250m steps at 1472 B, its goodput
//   udpcast     udpcast --async, no FEC, best intact of 3; and the ratio to `paired`
//   paired9000  the paired search at 8972 B (--mtu 9000)
//   small       10,000 files of 4 KiB, paired: files/s
//   rss         peak RSS of each side on a 2 GB file
//   gro         the receiver with GRO on (not a headline)
// Earlier sections, only with --only: goodput, limits, rate, watch; and the pass-through streams
// (bench/streams.mjs): streams-syslog, streams-tcp, streams-tcp9000.
// Only with --only too, the million-file share of issue 18 (long): million, with --tree-files N
// (default 1,000,000), --idle-seconds S (300), --settle MS (1000), --manifest-interval S (300), --keep,
// --tree-rate R (the sender's --rate, 20m), --send-timeout S (the first send's bound), --rss-limit MB
// (both sides together; 60% of the RAM).
// Also: --big-size MB (rss), --files N (small), --start-rate MBITS, --max-steps N (rate search).
// DIODESYNC_BENCH_NODE_ARGS: node flags for every CLI it starts, e.g. "--cpu-prof --cpu-prof-dir=DIR" to profile.
// --quick: every row small (20 MB, 40 MB for rss, 1,000 files, 1 run, 2 rate steps), a smoke test.
// Figures, not verdicts: the machine is shared, so CPU per frame says more than wall-clock Gb/s.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import * as path from 'node:path';
import { BENCH, REPO, SEND, createContext } from './lib/context.mjs';
import { Table } from './lib/table.mjs';
import { captureVsUdp } from './rows/capture.mjs';
import { groOn } from './rows/gro.mjs';
import { goodput, limits, rateAccuracy, watchLatency } from './rows/older.mjs';
import { paired } from './rows/paired.mjs';
import { peakRss } from './rows/rss.mjs';
import { receiverAlone } from './rows/receiver-alone.mjs';
import { senderAlone } from './rows/sender-alone.mjs';
import { smallFiles } from './rows/small-files.mjs';
import { million } from './rows/million.mjs';
import { udpcast } from './rows/udpcast.mjs';
import { syslogLatency, tcpGoodput } from './rows/streams.mjs';

const ISSUE_ROWS = ['sender', 'receiver', 'paired', 'udpcast', 'paired9000', 'small', 'rss', 'gro', 'capture'];
const OLDER_ROWS = ['goodput', 'limits', 'rate', 'watch', 'streams-syslog', 'streams-tcp', 'streams-tcp9000'];
const OPT_IN_ROWS = ['million'];

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  // The usage is the comment at the top of this file.
  const lines = readFileSync(new URL(import.meta.url), 'utf8').split('\n');
  console.log(lines.slice(1, lines.findIndex((line, i) => i > 0 && !line.startsWith('//'))).map((line) => line.replace(/^\/\/ ?/, '')).join('\n'));
  process.exit(0);
}
const ctx = createContext(process.argv.slice(2));
const unknown = [...(ctx.only ?? [])].filter((r) => !ISSUE_ROWS.includes(r) && !OLDER_ROWS.includes(r) && !OPT_IN_ROWS.includes(r));
if (unknown.length > 0) {
  console.error(`bench: unknown row(s) ${unknown.join(', ')}; rows: ${[...ISSUE_ROWS, ...OLDER_ROWS, ...OPT_IN_ROWS].join(', ')}`);
  process.exit(1);
}
if (spawnSync(process.execPath, [SEND, '--help']).status !== 0) {
  console.error('bench: packages/*/dist is missing or broken: run `npx tsc -b` first (npm run bench does)');
  process.exit(1);
}
const want = (row) => (ctx.only ? ctx.only.has(row) : ISSUE_ROWS.includes(row));
const table = new Table();
const startedAt = new Date().toISOString();
console.log(`diodesync bench${ctx.quick ? ' --quick (smoke test: small sizes, not the figures)' : ''}: node ${process.version}, ${cpus().length} CPUs shared with other work; ${ctx.sizeMB} MB, ${ctx.runs} run(s) per step`);

/** A row that throws still prints, as `failed (why)`, and the bench goes on to the next. */
async function section(name, fn) {
  if (!want(name)) return undefined;
  console.log(`\n## ${name}`);
  try {
    return await fn();
  } catch (err) {
    table.add({ what: name, figure: `failed (${err.message.split('\n')[0]})`, unit: '' });
    return undefined;
  }
}

await section('sender', () => senderAlone(ctx, table));
await section('receiver', () => receiverAlone(ctx, table));
const headline = await section('paired', () => paired(ctx, table, { mtu: 1500, target: 2.0 }));
const reference = await section('udpcast', () => udpcast(ctx, table));
if (typeof headline?.figure === 'number' && reference) {
  table.add({ what: 'paired 1472 B / udpcast', figure: headline.figure / reference, unit: '×', target: { value: 1 }, note: 'diodesync median of the intact step over udpcast best of its runs' });
}
await section('paired9000', () => paired(ctx, table, { mtu: 9000, target: 3.0 }));
await section('small', () => smallFiles(ctx, table));
await section('rss', () => peakRss(ctx, table));
await section('gro', () => groOn(ctx, table));
await section('capture', () => captureVsUdp(ctx, table));
await section('goodput', () => goodput(ctx, table));
await section('limits', () => limits(ctx, table));
await section('rate', () => rateAccuracy(ctx, table));
await section('watch', () => watchLatency(ctx, table));
await section('streams-syslog', () => syslogLatency(ctx, table));
await section('streams-tcp', () => tcpGoodput(ctx, table, 1500));
await section('streams-tcp9000', () => tcpGoodput(ctx, table, 9000));
await section('million', () => million(ctx, table));

console.log(`\n${table.markdown()}\n`);
console.log('CPU: user + system of each process over its whole run (start-up and hashing included), per frame it sent or received; on loopback the kernel\'s delivery runs partly in the sender\'s system time.');
const out = ctx.out ?? path.join(BENCH, 'results', `${startedAt.replace(/[:.]/g, '-')}.json`);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ machine: { cpus: cpus().length, node: process.version }, startedAt, quick: ctx.quick, rows: table.rows }, null, 2) + '\n');
console.log(`results: ${path.relative(REPO, out)}`);
