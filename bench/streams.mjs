// Pass-through streams (issue 17), two bench rows against the built CLIs on loopback:
//   syslog: 5,000 datagrams/s of syslog size while a large file moves; latency from the low
//           side's socket (the feeder's send) to the high side's socket (the collector's receive).
//   tcp:    one TCP session of random bytes, SHA-256 checked; goodput, and CPU per GB per side.
// CPU is each CLI's own (process.resourceUsage at exit, via lib/measure.mjs). Options:
//   --file-mb N (default 500), --seconds N (syslog feed, default 10), --tcp-mb N (default 1024),
//   --mtu N (the TCP row's, default 1500), --tcp-rate R (its --rate and --forward-rate, default 2g), --only syslog|tcp, --cpu-prof DIR (each CLI writes a
//   V8 CPU profile there: where the time goes)
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const root = fileURLToPath(new URL('..', import.meta.url));
const SEND = path.join(root, 'packages/sender/dist/cli.js');
const RECEIVE = path.join(root, 'packages/receiver/dist/cli.js');
const MEASURE = path.join(root, 'bench/lib/measure.mjs');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const work = mkdtempSync(path.join(tmpdir(), 'diodesync-bench-streams-'));
const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function run(cli, args, name) {
  const measure = path.join(work, `${name}.measure`);
  const prof = process.argv.includes('--cpu-prof') ? ['--cpu-prof', '--cpu-prof-dir', process.argv[process.argv.indexOf('--cpu-prof') + 1], '--cpu-prof-name', `${name}.cpuprofile`] : [];
  const child = spawn(process.execPath, [...prof, MEASURE, cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DIODESYNC_LOG: 'json', DIODESYNC_MEASURE: measure } });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('close', () => {
    children.delete(child);
    resolve(existsSync(measure) ? JSON.parse(readFileSync(measure, 'utf8').trim().split('\n')[0]) : {});
  }));
  const events = () => stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  const waitFor = async (event) => {
    for (let i = 0; i < 600; i++) {
      const e = events().find((x) => x.event === event);
      if (e) return e;
      await sleep(50);
    }
    throw new Error(`${name}: no ${event}: ${stderr}`);
  };
  return { child, exited, events, waitFor, stop: () => child.kill('SIGTERM') };
}

async function pair(name, src, dest, forward, deliver, rate, forwardRate, extra = []) {
  const receiver = run(RECEIVE, [dest, '--listen', 'udp://127.0.0.1:0', '--deliver', deliver, '--state', path.join(work, `${name}-receive-state`)], `${name}-receive`);
  const port = (await receiver.waitFor('listening')).port;
  const sender = run(SEND, [src, '--to', `udp://127.0.0.1:${port}`, '--rate', rate, '--forward-rate', forwardRate, '--forward', forward, ...extra,
    '--state', path.join(work, `${name}-send-state`), '--settle', '0'], `${name}-send`);
  const forwarding = await sender.waitFor('forwarding');
  return { receiver, sender, inPort: forwarding.port };
}

async function stopPair(p) {
  p.sender.stop();
  const send = await p.sender.exited;
  await sleep(300);
  p.receiver.stop();
  return { send, receive: await p.receiver.exited };
}

const percentile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

async function syslogRow() {
  const fileMb = arg('file-mb', 500);
  const seconds = arg('seconds', 10);
  const src = path.join(work, 'syslog-src');
  mkdirSync(src);
  const dest = path.join(work, 'syslog-dest');
  const out = dgram.createSocket('udp4');
  await new Promise((r) => out.bind(0, '127.0.0.1', r));
  out.setRecvBufferSize(4 * 1024 * 1024);
  const latencies = [];
  let received = 0;
  // This process feeds and collects: its own loop delay is part of what it measures (a busy host).
  const benchLoop = monitorEventLoopDelay({ resolution: 1 });
  out.on('message', (m) => {
    received++;
    latencies.push(performance.timeOrigin + performance.now() - Number(m.subarray(0, 20).toString()));
  });
  const p = await pair('syslog', src, dest, 'syslog=udp://127.0.0.1:0', `syslog=udp://127.0.0.1:${out.address().port}`, '800m', '100m');
  // The file appears once both run: the sender finds it at its next rescan (watch mode).
  const block = randomBytes(1024 * 1024);
  const big = Buffer.concat(Array.from({ length: fileMb }, () => block));
  writeFileSync(path.join(src, 'big.bin'), big);
  await sleep(1000);
  const feed = dgram.createSocket('udp4');
  benchLoop.enable(); // from the feed on: writing the file above blocks this loop for seconds
  const total = seconds * 5000;
  const started = performance.now();
  for (let i = 0; i < total; ) {
    const due = Math.floor(((performance.now() - started) / 1000) * 5000);
    for (; i < Math.min(due, total); i++) {
      const stamp = String(performance.timeOrigin + performance.now()).padEnd(20, ' ');
      feed.send(Buffer.from(`${stamp} <134>1 2026-11-27T18:00:00Z plc historian - - - event ${i} ${'x'.repeat(80)}`), p.inPort, '127.0.0.1');
    }
    await sleep(2);
  }
  await sleep(1500);
  feed.close();
  const fileArrived = existsSync(path.join(dest, 'big.bin'));
  const { send, receive } = await stopPair(p);
  out.close();
  latencies.sort((a, b) => a - b);
  // Where the time goes: the sender's event loop (a datagram waits in its socket), its outbox, the
  // way to the receiver's channel (transit: link, reader ring, the receiver's loop), the wait there.
  const sent = p.sender.events().find((e) => e.event === 'channel-done' && e.channel === 'syslog') ?? {};
  const status = readStatus(path.join(work, 'syslog-receive-state'));
  const channel = status?.streams?.channels?.syslog ?? {};
  return {
    row: `syslog ${total} datagrams at 5,000/s while a ${fileMb} MB file moves (--rate 800m, --forward-rate 100m)`,
    delivered: received, lost: total - received, fileInMirrorAtEnd: fileArrived,
    // Where lost datagrams went: the receiver's ring full (its main thread behind), or gaps given up in the channel.
    receiverRingDrops: status?.counters?.queueOverflow, channelLost: channel.lost, repaired: channel.repaired,
    loadAverage: os.loadavg().map((l) => +l.toFixed(2)),
    latencyMs: { p50: +percentile(latencies, 0.5).toFixed(2), p99: +percentile(latencies, 0.99).toFixed(2), max: +latencies[latencies.length - 1].toFixed(2) },
    cpuSeconds: { sender: send.cpuSeconds, receiver: receive.cpuSeconds },
    breakdownMs: {
      senderLoopDelay: { p99: sent.loopDelayP99Ms, max: sent.loopDelayMaxMs },
      senderOutboxWait: { p50: sent.outboxWaitP50Ms, p99: sent.outboxWaitP99Ms, max: sent.outboxWaitMaxMs },
      madeToArrival: channel.sinceStartMs?.transit,
      madeToDelivery: channel.sinceStartMs?.delivery,
      receiverLoopDelay: status?.streams?.loopDelayMs,
      benchLoopDelay: { p99: +(benchLoop.percentile(99) / 1e6).toFixed(1), max: +(benchLoop.max / 1e6).toFixed(1) },
    },
  };
}

/** The receiver's last status (in its --state), or undefined. */
function readStatus(state) {
  try {
    return JSON.parse(readFileSync(path.join(state, 'status.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

async function tcpRow() {
  const mb = arg('tcp-mb', 1024);
  const src = path.join(work, 'tcp-src');
  mkdirSync(src);
  const hash = createHash('sha256');
  let bytes = 0;
  let firstAt = 0;
  let lastAt = 0;
  let done;
  const closed = new Promise((r) => (done = r));
  const tcpRate = process.argv.includes('--tcp-rate') ? process.argv[process.argv.indexOf('--tcp-rate') + 1] : '2g';
  let cut = false;
  const server = net.createServer((s) => {
    // A reset: the high side cut the session (a gap it could not repair).
    s.on('error', () => (cut = true));
    s.on('data', (d) => {
      firstAt ||= performance.now();
      lastAt = performance.now();
      bytes += d.length;
      hash.update(d);
    });
    s.on('close', done);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const p = await pair('tcp', src, path.join(work, 'tcp-dest'), 'feed=tcp-listen://127.0.0.1:0', `feed=tcp://127.0.0.1:${server.address().port}`, tcpRate, tcpRate, ['--mtu', String(arg('mtu', 1500))]);
  const sent = createHash('sha256');
  const block = randomBytes(1024 * 1024);
  const client = net.connect(p.inPort, '127.0.0.1');
  let clientError;
  client.on('error', (err) => (clientError = err.code ?? err.message));
  await new Promise((r) => client.on('connect', r));
  for (let i = 0; i < mb && !clientError; i++) {
    const chunk = Buffer.from(block);
    chunk.writeUInt32BE(i, 0); // every megabyte different
    sent.update(chunk);
    if (!client.write(chunk)) {
      await new Promise((resolve) => {
        const done = () => {
          client.off('drain', done);
          client.off('error', done);
          resolve();
        };
        client.on('drain', done);
        client.on('error', done);
      });
    }
  }
  client.end();
  await Promise.race([closed, sleep(600_000)]);
  const { send, receive } = await stopPair(p);
  server.close();
  const seconds = (lastAt - firstAt) / 1000;
  const status = readStatus(path.join(work, 'tcp-receive-state'));
  const channel = status?.streams?.channels?.feed ?? {};
  return {
    row: `one TCP session of ${mb} MB (--rate ${tcpRate}, --forward-rate ${tcpRate}, --mtu ${arg('mtu', 1500)})`,
    identical: bytes === mb * 1024 * 1024 && hash.digest('hex') === sent.digest('hex'),
    cut, clientError, senderErrors: clientError ? p.sender.events().filter((e) => e.level === 'error' || e.level === 'warn').slice(0, 3) : undefined, receiverRingDrops: status?.counters?.queueOverflow, gaps: channel.gaps, repaired: channel.repaired,
    loadAverage: os.loadavg().map((l) => +l.toFixed(2)),
    goodputMbps: +((bytes * 8) / seconds / 1e6).toFixed(1),
    cpuSecondsPerGB: { sender: +(send.cpuSeconds / (bytes / 2 ** 30)).toFixed(2), receiver: +(receive.cpuSeconds / (bytes / 2 ** 30)).toFixed(2) },
  };
}

// --only syslog|tcp runs one row.
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
if (only !== 'tcp') console.log(JSON.stringify(await syslogRow(), null, 1));
if (only !== 'syslog') console.log(JSON.stringify(await tcpRow(), null, 1));
process.exit(0);
