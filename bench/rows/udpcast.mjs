// Row "udpcast": the reference from the issue, in the same bench: udp-sender --async (no FEC, as the
// issue asks) to udp-receiver on loopback, the same random file, best intact run of `runs` (3).
// udpcast is Debian's package: installed here when missing and running as root (apt-get), otherwise
// the row says why it is not available. CPU and peak RSS come from /usr/bin/time when present;
// udpcast's frames are counted as the file's bytes over its 1456-byte blocks (an estimate).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import * as path from 'node:path';
import { track } from '../lib/context.mjs';
import { randomTree, sameFile } from '../lib/files.mjs';
import { sleep } from '../lib/processes.mjs';

const UDPCAST_BLOCK = 1456;
const has = (cmd) => spawnSync('which', [cmd]).status === 0;

/** undefined when udpcast can run, else the reason it cannot. */
function ensureUdpcast() {
  if (has('udp-sender') && has('udp-receiver')) return undefined;
  if (process.getuid?.() !== 0) return 'udpcast is not installed and the bench is not root (apt-get install udpcast)';
  if (!has('apt-get')) return 'udpcast is not installed and there is no apt-get';
  const install = () => spawnSync('apt-get', ['install', '-y', '-qq', 'udpcast'], { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  let r = install();
  if (r.status !== 0) { // the package lists may be missing or stale
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
    r = install();
  }
  if (r.status !== 0) return `apt-get install udpcast failed: ${(r.stderr || r.stdout).trim().split('\n').at(-1)}`;
  return undefined;
}

/** `cmd args` under /usr/bin/time when it exists: resolves with { code, cpuSeconds, maxRssMB }. */
function timed(ctx, cmd, args) {
  const timeFile = path.join(ctx.work, `time-${ctx.nextId()}`);
  const useTime = existsSync('/usr/bin/time');
  const child = track(useTime ? spawn('/usr/bin/time', ['-f', '%U %S %M', '-o', timeFile, cmd, ...args], { stdio: 'ignore' }) : spawn(cmd, args, { stdio: 'ignore' }));
  return {
    child,
    done: once(child, 'close').then(([code]) => {
      const [u, s, m] = useTime && existsSync(timeFile) ? readFileSync(timeFile, 'utf8').trim().split('\n').at(-1).split(' ').map(Number) : [];
      return { code, cpuSeconds: u + s, maxRssMB: m / 1024 };
    }),
  };
}

async function udpcastRun(ctx, source) {
  const output = path.join(ctx.work, 'udpcast.out');
  rmSync(output, { force: true });
  const portbase = 40000 + Math.floor(Math.random() * 10000) * 2;
  const common = ['--interface', 'lo', '--portbase', String(portbase), '--nokbd'];
  const rx = timed(ctx, 'udp-receiver', [...common, '--passive', '--rcvbuf', '4194304', '--exit-wait', '0', '--file', output]);
  await sleep(300);
  const started = performance.now();
  const tx = timed(ctx, 'udp-sender', [...common, '--async', '--autostart', '1', '--rexmit-hello-interval', '100', '--mcast-data-address', '127.0.0.1', '--file', source.file]);
  const timer = setTimeout(() => { tx.child.kill('SIGKILL'); rx.child.kill('SIGKILL'); }, Math.max(60, source.bytes / 10e6) * 1000);
  const [t, r] = await Promise.all([tx.done, rx.done]);
  clearTimeout(timer);
  const seconds = (performance.now() - started) / 1000;
  const intact = sameFile(source.file, output);
  rmSync(output, { force: true });
  const frames = Math.ceil(source.bytes / UDPCAST_BLOCK);
  return { intact, gbps: (source.bytes * 8) / seconds / 1e9, sender: t, receiver: r, frames };
}

/** Adds the udpcast row; returns its best intact Gb/s (undefined if none). */
export async function udpcast(ctx, table) {
  const what = `udpcast, ${ctx.sizeMB} MB, no FEC, best intact of ${ctx.runs}`;
  const why = ensureUdpcast();
  if (why) {
    table.add({ what, figure: `not available (${why})`, unit: 'Gb/s' });
    return undefined;
  }
  const source = randomTree(ctx, ctx.sizeMB * 1e6);
  const runs = [];
  for (let i = 0; i < ctx.runs; i++) runs.push(await udpcastRun(ctx, source));
  const intact = runs.filter((r) => r.intact).sort((a, b) => b.gbps - a.gbps);
  const best = intact[0];
  const ns = (side) => (best?.[side].cpuSeconds >= 0 ? (best[side].cpuSeconds * 1e9) / best.frames : undefined);
  table.add({
    what, figure: best ? best.gbps : `no intact run of ${ctx.runs}`, unit: 'Gb/s', gbps: best?.gbps,
    senderNs: ns('sender'), receiverNs: ns('receiver'), senderRssMB: best?.sender.maxRssMB, receiverRssMB: best?.receiver.maxRssMB,
    note: `runs ${runs.map((r) => `${r.gbps.toFixed(2)}${r.intact ? '' : ' (broken)'}`).join(', ')} Gb/s; frames counted as bytes/${UDPCAST_BLOCK}`,
  });
  return best?.gbps;
}
