// Opt-in rows (`--only streams-syslog,streams-tcp`) of bench/streams.mjs (issue 17), run as a child
// and put in the table: syslog p99 latency while a file moves, one TCP session's goodput.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { BENCH } from '../lib/context.mjs';

function streamsRow(ctx, only, extra) {
  const args = [path.join(BENCH, 'streams.mjs'), '--only', only, ...(ctx.quick ? ['--file-mb', '20', '--seconds', '2', '--tcp-mb', '20'] : []), ...extra];
  const run = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 900_000 });
  if (run.status !== 0) throw new Error(`bench/streams.mjs --only ${only}: ${(run.stderr || run.stdout).trim().split('\n').pop()}`);
  return JSON.parse(run.stdout);
}

export function syslogLatency(ctx, table) {
  const r = streamsRow(ctx, 'syslog', []);
  return table.add({
    what: 'streams: syslog p99 while a file moves', figure: r.latencyMs.p99, unit: 'ms', target: { value: 20, atMost: true },
    note: `${r.row}; p50 ${r.latencyMs.p50} ms, max ${r.latencyMs.max} ms, ${r.lost} lost; load ${r.loadAverage?.join('/')}`,
  });
}

export function tcpGoodput(ctx, table, mtu) {
  const r = streamsRow(ctx, 'tcp', ['--mtu', String(mtu)]);
  return table.add({
    what: `streams: one TCP session, MTU ${mtu}`, figure: r.identical ? r.goodputMbps : `not intact (cut: ${r.cut}, gaps ${r.gaps})`, unit: 'Mb/s', target: { value: 500 },
    note: `${r.row}; CPU s/GB sender ${r.cpuSecondsPerGB.sender}, receiver ${r.cpuSecondsPerGB.receiver}; load ${r.loadAverage?.join('/')}`,
  });
}
