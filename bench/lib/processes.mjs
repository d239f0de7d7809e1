// Runs the built CLIs as child processes, each under measure.mjs, which appends the process's own
// CPU time (user + system, every thread) and peak RSS to a file when it exits.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CLI_NODE_ARGS, MEASURE, track } from './context.mjs';

/**
 * Starts `node measure.mjs CLI ...argv`. `exited` resolves with the exit code, the JSON log
 * events (by name, first of each) and the measure ({ cpuSeconds, maxRssMB }, or {} when killed).
 */
export function runCli(ctx, cli, argv, env = {}) {
  const measureFile = path.join(ctx.work, `measure-${ctx.nextId()}.jsonl`);
  const child = track(spawn(process.execPath, [...CLI_NODE_ARGS, MEASURE, cli, ...argv], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, DIODESYNC_LOG: 'json', DIODESYNC_MEASURE: measureFile, ...env },
  }));
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const events = () => {
    const found = {};
    for (const line of stderr.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const e = JSON.parse(line);
        if (e.event && !(e.event in found)) found[e.event] = e;
      } catch { /* a partial line */ }
    }
    return found;
  };
  const exited = new Promise((resolve) => child.on('close', (code, signal) => {
    const measure = existsSync(measureFile) ? JSON.parse(readFileSync(measureFile, 'utf8').trim().split('\n')[0]) : {};
    resolve({ code, signal, events: events(), measure, stderr });
  }));
  return {
    child, exited, events,
    /** The first log event named `name`; rejects if the process exits first or after `ms`. */
    async waitFor(name, ms = 30_000) {
      const until = performance.now() + ms;
      while (performance.now() < until) {
        const e = events()[name];
        if (e) return e;
        if (child.exitCode !== null || child.signalCode !== null) break;
        await sleep(20);
      }
      throw new Error(`${path.basename(path.dirname(path.dirname(cli)))}: no '${name}' event: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    },
    /** Waits up to `ms` for the exit, then SIGTERM, then (5 s later) SIGKILL. */
    async stopWithin(ms) {
      const timer = setTimeout(() => child.kill('SIGTERM'), ms);
      const kill = setTimeout(() => child.kill('SIGKILL'), ms + 5000);
      const result = await exited;
      clearTimeout(timer);
      clearTimeout(kill);
      return result;
    },
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Datagram payload size for a link MTU: IPv4 (20) and UDP (8) headers off. */
export const datagramSize = (mtu) => mtu - 28;
