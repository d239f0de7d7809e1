// One diodesync transfer on loopback, both CLIs measured: receiver first (port 0, --exit-when-synced),
// then `diode-send --once`. Goodput is the source's bytes over the time from the sender's `start`
// line (Node and the ledger are up) to the receiver's exit once the mirror is verified.
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { RECEIVE, SEND } from './context.mjs';
import { runCli } from './processes.mjs';

/**
 * `source` { dir, bytes }, `check(destDir)` says whether the mirror is byte-identical; `listen` the
 * receiver's --listen (the sender sends to 127.0.0.1 at the port the receiver reports).
 * Returns { identical, goodputGbps, seconds, senderNs, receiverNs, sender, receiver, frames }.
 */
export async function transfer(ctx, { source, check, senderArgs = [], receiverArgs = [], timeoutS = 120, listen = 'udp://127.0.0.1:0' }) {
  const id = ctx.nextId();
  const dest = path.join(ctx.work, `mirror-${id}`);
  const receiverState = path.join(ctx.work, `receiver-state-${id}`);
  const senderState = path.join(ctx.work, `sender-state-${id}`);
  try {
    const receiver = runCli(ctx, RECEIVE, [dest, '--listen', listen, '--exit-when-synced', '--timeout', String(timeoutS), '--state', receiverState, ...receiverArgs]);
    const { port } = await receiver.waitFor('listening');
    // Fresh ledger and no settling: the files were just written and every run sends them all.
    const sender = runCli(ctx, SEND, [source.dir, '--to', `udp://127.0.0.1:${port}`, '--once', '--settle', '0', '--state', senderState, ...senderArgs]);
    let started;
    const startSeen = sender.waitFor('start', timeoutS * 1000).then(() => (started = performance.now()), () => undefined);
    const s = await sender.stopWithin(timeoutS * 1000 + 10_000);
    // Nothing more will come: what the receiver still lacks after its verification time is lost,
    // so a failed run costs seconds, not the whole --timeout.
    const r = await receiver.stopWithin(10_000 + (source.bytes / 50e6) * 1000);
    const ended = performance.now();
    await startSeen;
    const seconds = started ? (ended - started) / 1000 : NaN;
    const identical = r.code === 0 && check(dest);
    const senderFrames = s.events.done?.frames;
    const receiverFrames = r.events.exit?.frames;
    return {
      identical, seconds, goodputGbps: (source.bytes * 8) / seconds / 1e9,
      senderFrames, receiverFrames,
      senderNs: nsPerFrame(s.measure.cpuSeconds, senderFrames),
      receiverNs: nsPerFrame(r.measure.cpuSeconds, receiverFrames),
      senderRssMB: s.measure.maxRssMB, receiverRssMB: r.measure.maxRssMB,
      senderIo: s.events.start?.io, receiverIo: r.events.listening?.io,
      exit: r.events.exit ?? {}, senderCode: s.code, receiverCode: r.code,
      why: identical ? '' : whyNot(s, r),
    };
  } finally {
    for (const dir of [dest, receiverState, senderState, path.join(ctx.work, `.mirror-${id}.diodesync`)]) rmSync(dir, { recursive: true, force: true });
  }
}

export function nsPerFrame(cpuSeconds, frames) {
  return typeof cpuSeconds === 'number' && frames > 0 ? (cpuSeconds * 1e9) / frames : undefined;
}

function whyNot(s, r) {
  const e = r.events.exit;
  if (r.code === 0) return 'mirror differs from the source';
  if (e) return `receiver exit ${r.code}: ${e.missing ?? '?'} missing, ${e.framesLost ?? '?'} frames lost, overflow ${e.queueOverflow ?? '?'}`;
  const tail = (x) => x.stderr.trim().split('\n').filter((l) => !l.startsWith('{')).slice(-1)[0] ?? '';
  return `receiver exit ${r.code ?? r.signal}, sender exit ${s.code ?? s.signal} ${tail(s)} ${tail(r)}`.trim();
}
