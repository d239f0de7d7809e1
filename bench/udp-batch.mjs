#!/usr/bin/env node
// Batched UDP send paths, sender alone: node bench/udp-batch.mjs [--runs 3] [--seconds 2] [--batch 64] [--sizes 1472,8972] [--modes dgram,mmsg,gso]
//
// For each datagram size and path (dgram = node:dgram behind openUdp, mmsg = sendmmsg, gso =
// sendmmsg with UDP_SEGMENT), this process sends batches of --batch datagrams from one buffer to
// 127.0.0.1 as fast as the path goes, for --seconds; a child process drains the socket with a native
// recvBatch loop (so that its CPU is not counted here). Prints the medians over --runs of: Gb/s of
// payload sent, datagrams/s, CPU ns per datagram (process.cpuUsage, user + system; on loopback the
// kernel's delivery to the receiving socket runs in the sender's system time too) and the share the
// drain received. Figures, not verdicts: other work on the machine moves them.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { cpus } from 'node:os';
import { openUdp, udpIo } from '@diodesync/native';

const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);

async function drain() {
  const sock = await openUdp({ bind: { address: '127.0.0.1' }, rcvbuf: 32 << 20 });
  const SLOT = 9000;
  const SLOTS = 256;
  const ring = Buffer.allocUnsafe(SLOT * SLOTS);
  const lengths = new Uint32Array(SLOTS);
  let datagrams = 0;
  let bytes = 0;
  let stop = false;
  process.on('message', (m) => {
    if (m === 'reset') datagrams = bytes = 0;
    else if (m === 'report') process.send({ datagrams, bytes });
    else if (m === 'stop') stop = true;
  });
  process.on('disconnect', () => (stop = true)); // the parent is gone
  process.send({ port: sock.port, io: sock.io.mode, rcvbuf: sock.rcvbuf });
  let lastYield = performance.now();
  while (!stop) {
    const n = await sock.recvBatch(ring, SLOT, SLOTS, lengths, 20);
    datagrams += n;
    for (let i = 0; i < n; i++) bytes += lengths[i];
    // Let IPC in now and then: the native recvBatch returns without yielding to the event loop.
    if (n === 0 || performance.now() - lastYield > 5) {
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
  }
  await sock.close();
  if (process.connected) process.disconnect();
}

async function trial(child, port, mode, size, batch, seconds) {
  const sock = await openUdp({ connect: { address: '127.0.0.1', port }, io: mode, sndbuf: 8 << 20 });
  if (sock.io.mode !== mode) throw new Error(`asked for ${mode}, got ${sock.io.mode}: ${sock.io.reason}`);
  const buffer = Buffer.alloc(size * batch, 0x5a);
  child.send('reset');
  await new Promise((r) => setTimeout(r, 50));
  let sent = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    for (let k = 0; k < 16; k++) {
      const p = sock.sendBatch(buffer, size);
      sent += batch;
      if (p) await p;
    }
  }
  await sock.flush();
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await sock.close();
  await new Promise((r) => setTimeout(r, 300)); // the drain empties the kernel's queue
  child.send('report');
  const [got] = await once(child, 'message');
  const cpuNs = (cpu.user + cpu.system) * 1000;
  return {
    gbps: (sent * size * 8) / wall / 1e9,
    dps: sent / wall,
    nsPerDatagram: cpuNs / sent,
    cores: cpuNs / 1e9 / wall,
    delivered: got.datagrams / sent,
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const runs = Number(opt('runs', 3));
  const seconds = Number(opt('seconds', 2));
  const batch = Number(opt('batch', 64));
  const sizes = opt('sizes', '1472,8972').split(',').map(Number);
  const modes = opt('modes', 'dgram,mmsg,gso').split(',').filter((m) => m === 'dgram' || (m === 'mmsg' && udpIo.mode !== 'dgram') || (m === 'gso' && udpIo.mode === 'gso'));
  const child = fork(new URL(import.meta.url), ['--drain'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [ready] = await once(child, 'message');
  console.log(`node ${process.version}, ${cpus().length} CPUs (shared with other work: indicative figures); best path here: ${udpIo.mode} (${udpIo.reason})`);
  console.log(`drain: native recvBatch in a child (io=${ready.io}, SO_RCVBUF granted ${ready.rcvbuf}); ${batch} datagrams per sendBatch, ${seconds} s per run, median of ${runs}`);
  const rows = [];
  for (const size of sizes) {
    for (const mode of modes) {
      const results = [];
      for (let r = 0; r < runs; r++) results.push(await trial(child, ready.port, mode, size, batch, seconds));
      const m = (k) => median(results.map((x) => x[k]));
      rows.push({ size, mode, gbps: m('gbps'), dps: m('dps'), nsPerDatagram: m('nsPerDatagram'), cores: m('cores'), delivered: m('delivered'), runs: results.map((x) => +x.gbps.toFixed(2)) });
      const row = rows.at(-1);
      console.log(`${String(size).padStart(5)} B  ${mode.padEnd(5)}  ${row.gbps.toFixed(2).padStart(6)} Gb/s  ${(row.dps / 1e3).toFixed(0).padStart(6)} k datagrams/s  ${row.nsPerDatagram.toFixed(0).padStart(6)} CPU ns/datagram  ${row.cores.toFixed(2)} cores  drain got ${(row.delivered * 100).toFixed(0)}%  runs (Gb/s): ${row.runs.join(' ')}`);
    }
  }
  child.send('stop');
  await once(child, 'exit');
  if (args.includes('--json')) console.log(JSON.stringify(rows));
}

if (args[0] === '--drain') await drain();
else await main();
