// Row "sender alone": diode-send --once of one random file, unthrottled, to a C program that drains
// the socket with recvmmsg and counts (bench/tools/udp-tool.c), FEC off and FEC 20+4.
// Gb/s is what the drain took in (UDP payload: headers and parity included) from the first data
// frame to the last datagram: a sender that hashes a file before its first data frame shows that
// in the whole-run figure of the note, not here.
import * as path from 'node:path';
import { SEND } from '../lib/context.mjs';
import { randomTree } from '../lib/files.mjs';
import { runCli, sleep } from '../lib/processes.mjs';
import { nsPerFrame } from '../lib/transfer.mjs';
import { startDrain } from '../lib/udp-tool.mjs';

export const TARGET_GBPS = 6;

/** Runs diode-send into a drain; resolves with the sender's result and the drain's counts. */
export async function sendToDrain(ctx, source, senderArgs, recordFile) {
  const drain = await startDrain(ctx, recordFile);
  const state = path.join(ctx.work, `sender-state-${ctx.nextId()}`);
  const sender = runCli(ctx, SEND, [source.dir, '--to', `udp://127.0.0.1:${drain.port}`, '--once', '--settle', '0', '--state', state, '-R', '1', ...senderArgs]);
  const s = await sender.stopWithin(Math.max(120, source.bytes / 20e6) * 1000);
  await sleep(300); // the drain empties the socket's queue
  const d = await drain.stop();
  return { s, d, frames: s.events.done?.frames };
}

export async function senderAlone(ctx, table) {
  const source = randomTree(ctx, ctx.sizeMB * 1e6);
  for (const fec of ['0', '20+4']) {
    const what = `sender alone, ${ctx.sizeMB} MB, 1472 B, FEC ${fec === '0' ? 'off' : fec}`;
    const { s, d, frames } = await sendToDrain(ctx, source, ['--rate', '100g', '--mtu', '1500', '--fec', fec]);
    if (s.code !== 0 || !frames) {
      table.add({ what, figure: `failed (sender exit ${s.code ?? s.signal})`, unit: 'Gb/s', target: { value: TARGET_GBPS } });
      continue;
    }
    const gbps = (d.bytes * 8) / (d.dataSeconds || d.seconds) / 1e9;
    table.add({
      what, figure: gbps, unit: 'Gb/s', target: { value: TARGET_GBPS }, gbps,
      senderNs: nsPerFrame(s.measure.cpuSeconds, frames), senderRssMB: s.measure.maxRssMB,
      note: `io=${s.events.start?.io ?? '?'}; ${frames} frames, drain got ${((d.datagrams / frames) * 100).toFixed(1)}% (its CPU ${nsPerFrame(d.cpuSeconds, d.datagrams)?.toFixed(0)} ns/datagram); file ${((source.bytes * 8) / s.events.done.seconds / 1e9).toFixed(2)} Gb/s over the sender's whole run`,
    });
  }
}
