// Row "receiver alone": the sender's datagrams are recorded once (diode-send at a rate the recorder
// keeps up with, FEC off, R=1), then a C program replays them with sendmmsg as fast as the kernel
// takes them, each datagram on its own (no GSO, so no GRO either), at a fresh diode-receive.
// Gb/s is what the receiver took in over the time from the replay's start to its last frame
// (polled from --metrics every 100 ms); whether the mirror is intact is checked by SHA-256.
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { RECEIVE } from '../lib/context.mjs';
import { randomTree, sameFile } from '../lib/files.mjs';
import { runCli, sleep } from '../lib/processes.mjs';
import { nsPerFrame } from '../lib/transfer.mjs';
import { replay } from '../lib/udp-tool.mjs';
import { sendToDrain } from './sender-alone.mjs';

export const TARGET_GBPS = 3;

async function record(ctx, source, file) {
  for (const rate of ['1000m', '300m']) {
    const { s, d, frames } = await sendToDrain(ctx, source, ['--rate', rate, '--mtu', '1500', '--fec', '0'], file);
    if (s.code === 0 && frames && d.datagrams === frames) return { rate, frames };
  }
  return undefined;
}

async function framesReceived(metricsPort) {
  try {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    return Number(/^diodesync_frames_received_total(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1]);
  } catch {
    return NaN; // the receiver is shutting down
  }
}

export async function receiverAlone(ctx, table) {
  const what = `receiver alone, replay of ${ctx.sizeMB} MB, 1472 B, FEC off`;
  const source = randomTree(ctx, ctx.sizeMB * 1e6);
  const recording = path.join(ctx.work, `recording-${ctx.sizeMB}.bin`);
  const recorded = await record(ctx, source, recording);
  if (!recorded) return table.add({ what, figure: 'not available (the recorder lost datagrams even at 300m)', unit: 'Gb/s', target: { value: TARGET_GBPS } });
  const dest = path.join(ctx.work, `mirror-${ctx.nextId()}`);
  const receiver = runCli(ctx, RECEIVE, [dest, '--listen', 'udp://127.0.0.1:0', '--exit-when-synced', '--timeout', '600', '--state', `${dest}.state`, '--metrics', '127.0.0.1:0']);
  const { port, metricsPort } = await receiver.waitFor('listening');
  const t0 = performance.now();
  let replayEnded = false;
  const sent = replay(ctx, recording, port).finally(() => (replayEnded = true));
  // The receiver's last frame: when its count stops moving after the replay has ended.
  let last = { frames: 0, at: t0 };
  while (receiver.child.exitCode === null && performance.now() - t0 < 600_000) {
    const n = await framesReceived(metricsPort);
    if (n > last.frames) last = { frames: n, at: performance.now() };
    else if (replayEnded && performance.now() - last.at > 1000) break;
    await sleep(100);
  }
  const replayed = await sent.catch((err) => {
    receiver.child.kill('SIGKILL');
    throw err;
  });
  // What remains is verification (read back and hashed) and the rename; then it exits if synced.
  const r = await receiver.stopWithin((20 + source.bytes / 100e6) * 1000);
  const frames = r.events.exit?.frames ?? last.frames;
  const share = frames / replayed.datagrams;
  const gbps = (share * replayed.bytes * 8) / ((last.at - t0) / 1000) / 1e9;
  const intact = r.code === 0 && sameFile(source.file, path.join(dest, 'file.bin'));
  for (const dir of [dest, `${dest}.state`, recording]) rmSync(dir, { recursive: true, force: true });
  table.add({
    what, figure: gbps, unit: 'Gb/s', target: { value: TARGET_GBPS }, gbps,
    receiverNs: nsPerFrame(r.measure.cpuSeconds, frames), receiverRssMB: r.measure.maxRssMB,
    note: `io=${r.events.listening?.io ?? '?'}; replay offered ${((replayed.bytes * 8) / replayed.seconds / 1e9).toFixed(2)} Gb/s, ${(share * 100).toFixed(1)}% arrived; mirror ${intact ? 'intact' : `NOT intact (exit ${r.code ?? r.signal})`}; recorded at ${recorded.rate}`,
  });
}
