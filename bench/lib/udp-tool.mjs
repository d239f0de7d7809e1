// Builds tools/udp-tool.c with the system's cc (node-gyp needs one anyway) into the bench's temp
// dir, and drives it: a recvmmsg drain (optionally recording every datagram) and a sendmmsg replay.
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { FrameType, HEADER_LAYOUT } from '../../packages/protocol/dist/index.js';
import { BENCH, track } from './context.mjs';

let built;
/** The compiled tool's path, or throws with the compiler's one-line reason. */
export function udpTool(ctx) {
  if (built) return built;
  const out = path.join(ctx.work, 'udp-tool');
  const cc = process.env.CC ?? 'cc';
  const r = spawnSync(cc, ['-O2', '-o', out, path.join(BENCH, 'tools', 'udp-tool.c')], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`cannot build bench/tools/udp-tool.c with ${cc}: ${(r.error?.message ?? r.stderr).trim().split('\n')[0]}`);
  return (built = out);
}

function collect(child) {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return { stdout: () => stdout, exited: new Promise((resolve, reject) => child.on('close', (code) => {
    const line = stdout.split('\n').find((l) => l.startsWith('{'));
    if (code !== 0 || !line) reject(new Error(`udp-tool exited ${code}: ${stderr.trim()}`));
    else resolve(JSON.parse(line));
  })) };
}

/**
 * Starts a drain on 127.0.0.1; `stop()` ends it and resolves with { datagrams, bytes, seconds,
 * dataSeconds (from the first data frame), cpuSeconds }.
 */
export async function startDrain(ctx, recordFile) {
  const child = track(spawn(udpTool(ctx), ['drain', recordFile ?? '-', String(HEADER_LAYOUT.type.offset), String(FrameType.Data)], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const out = collect(child);
  out.exited.catch(() => undefined);
  for (let i = 0; i < 500 && !/port \d+/.test(out.stdout()); i++) await new Promise((r) => setTimeout(r, 10));
  const port = Number(/port (\d+)/.exec(out.stdout())?.[1]);
  if (!port) throw new Error('udp-tool drain did not start');
  return {
    port,
    async stop() {
      child.kill('SIGTERM');
      return out.exited;
    },
  };
}

/** Sends every datagram of `recordFile` to 127.0.0.1:port; resolves with what it sent and its time. */
export function replay(ctx, recordFile, port) {
  const child = track(spawn(udpTool(ctx), ['replay', recordFile, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] }));
  return collect(child).exited;
}
