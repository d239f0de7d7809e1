// The bench's earlier sections, kept for --only: goodput at 10g unthrottled, the machine's limits
// (bare Node UDP, disk), rate accuracy at 10m/100m/1g, and watch latency. Not the rows.
import { once } from 'node:events';
import * as dgram from 'node:dgram';
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { FrameType, HEADER_LAYOUT } from '../../packages/protocol/dist/index.js';
import { RECEIVE, SEND } from '../lib/context.mjs';
import { randomTree, sameFile } from '../lib/files.mjs';
import { bareUdp, diskWrite } from '../lib/limits.mjs';
import { runCli, sleep } from '../lib/processes.mjs';
import { transfer } from '../lib/transfer.mjs';

export async function goodput(ctx, table) {
  const source = randomTree(ctx, ctx.sizeMB * 1e6);
  for (const mtu of [1500, 9000]) {
    for (const fec of ['0', '20+5']) {
      const r = await transfer(ctx, { source, check: (dest) => sameFile(source.file, path.join(dest, 'file.bin')), senderArgs: ['--rate', '10g', '-R', '1', '--mtu', String(mtu), '--fec', fec] });
      table.add({
        what: `goodput at --rate 10g, ${ctx.sizeMB} MB, ${mtu - 28} B, FEC ${fec}`, figure: r.goodputGbps, unit: 'Gb/s', gbps: r.goodputGbps,
        senderNs: r.senderNs, receiverNs: r.receiverNs, senderRssMB: r.senderRssMB, receiverRssMB: r.receiverRssMB,
        note: r.identical ? 'identical' : `NOT DELIVERED (${r.why})`,
      });
    }
  }
}

export async function limits(ctx, table) {
  for (const size of [1472, 8972]) {
    const r = await bareUdp(size, ctx.sizeMB * 1e6);
    table.add({ what: `bare Node UDP (node:dgram), ${size} B`, figure: r.gbps, unit: 'Gb/s', gbps: r.gbps, note: `${(r.delivered * 100).toFixed(0)}% delivered` });
  }
  const d = diskWrite(path.join(ctx.work, 'disk.bin'), ctx.sizeMB * 1e6);
  table.add({ what: 'disk write + fdatasync', figure: d.MBps, unit: 'MB/s', gbps: (d.MBps * 8) / 1000 });
}

export async function rateAccuracy(ctx, table) {
  const sparse = path.join(ctx.work, 'sparse');
  mkdirSync(sparse, { recursive: true });
  const fd = openSync(path.join(sparse, 'zeros.bin'), 'w');
  ftruncateSync(fd, 2e9);
  closeSync(fd);
  const seconds = ctx.quick ? 3 : 10;
  for (const rate of ['10m', '100m', '1g']) {
    const target = { '10m': 10e6, '100m': 100e6, '1g': 1e9 }[rate];
    const rx = dgram.createSocket({ type: 'udp4', recvBufferSize: 32 * 1024 * 1024 });
    rx.bind(0, '127.0.0.1');
    await once(rx, 'listening');
    const samples = [];
    // From the first data frame on: heartbeats go out while the file is hashed.
    rx.on('message', (m) => (samples.length > 0 || m[HEADER_LAYOUT.type.offset] === FrameType.Data) && samples.push([performance.now(), m.length]));
    const mtu = rate === '1g' ? '9000' : '1500';
    const sender = runCli(ctx, SEND, [sparse, '--to', `udp://127.0.0.1:${rx.address().port}`, '--once', '--rate', rate, '--mtu', mtu, '--fec', '0', '-R', '1', '--state', path.join(ctx.work, `rate-state-${ctx.nextId()}`), '--settle', '0']);
    for (let waited = 0; samples.length === 0 && waited < 60_000; waited += 20) await sleep(20);
    await sleep((seconds + 1) * 1000);
    sender.child.kill('SIGTERM');
    await sender.exited;
    rx.close();
    const t0 = samples[0][0] + 500; // after the first burst
    const window = samples.filter(([t]) => t >= t0 && t <= t0 + seconds * 1000);
    const bits = window.reduce((s, [, n]) => s + n * 8, 0);
    const measured = bits / ((window.at(-1)[0] - window[0][0]) / 1000);
    table.add({ what: `rate accuracy at ${rate} over ${seconds} s (MTU ${mtu}, FEC off)`, figure: measured / 1e6, unit: 'Mb/s', note: `${((measured / target - 1) * 100).toFixed(2)}% off (receiver-side count)` });
  }
  rmSync(sparse, { recursive: true, force: true });
}

export async function watchLatency(ctx, table) {
  const src = path.join(ctx.work, 'watch-src');
  const dest = path.join(ctx.work, 'watch-dest');
  mkdirSync(src, { recursive: true });
  const receiver = runCli(ctx, RECEIVE, [dest, '--listen', 'udp://127.0.0.1:0']);
  const { port } = await receiver.waitFor('listening');
  const settle = 500;
  const sender = runCli(ctx, SEND, [src, '--to', `udp://127.0.0.1:${port}`, '--settle', String(settle), '-R', '1', '--state', path.join(ctx.work, 'watch-state')]);
  await sleep(1000);
  const latencies = [];
  for (let i = 0; i < 100; i++) {
    const name = `f${i}.txt`;
    const created = performance.now();
    writeFileSync(path.join(src, name), `file ${i}\n`);
    while (!existsSync(path.join(dest, name)) && performance.now() - created < 20_000) await sleep(5);
    latencies.push(performance.now() - created);
  }
  sender.child.kill('SIGTERM');
  receiver.child.kill('SIGTERM');
  await Promise.all([sender.exited, receiver.exited]);
  latencies.sort((a, b) => a - b);
  table.add({ what: `watch latency, 100 files, --settle ${settle}`, figure: latencies[49], unit: 'ms (median)', note: `p99 ${latencies[98].toFixed(0)} ms` });
}
