// A built CLI that runs for a long time and logs a line per file (a million lines): the log is read
// as a stream and not kept. Of each event the first and the last are kept (per-file events are
// only counted), with the last lines that are not JSON, for the error a row prints.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { CLI_NODE_ARGS, MEASURE, track } from './context.mjs';
import { sleep } from './processes.mjs';

/** Events logged once per file: counted, never parsed (parsing a million lines would load the busy machine). */
const PER_FILE = /^\{[^{]*"event":"(file-[a-z-]+)"/;
const EVENT = /"event":"([^"]+)"/;

/**
 * Starts `node measure.mjs CLI ...argv` (measure.mjs appends the process's CPU time and peak RSS at
 * exit). Returns { child, pid, first(name), last(name), count(name), waitFor(name, ms), stopWithin(ms), exited, tail() }.
 */
export function startLongRun(ctx, cli, argv, env = {}) {
  const measureFile = path.join(ctx.work, `measure-${ctx.nextId()}.jsonl`);
  const child = track(spawn(process.execPath, [...CLI_NODE_ARGS, MEASURE, cli, ...argv], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, DIODESYNC_LOG: 'json', DIODESYNC_MEASURE: measureFile, ...env },
  }));
  const firsts = new Map();
  const lasts = new Map();
  const counts = new Map();
  const tailLines = [];
  createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => {
    const perFile = PER_FILE.exec(line);
    const name = perFile?.[1] ?? EVENT.exec(line)?.[1];
    if (name === undefined) {
      tailLines.push(line);
      if (tailLines.length > 5) tailLines.shift();
      return;
    }
    counts.set(name, (counts.get(name) ?? 0) + 1);
    if (perFile) return;
    try {
      const e = JSON.parse(line);
      if (!firsts.has(name)) firsts.set(name, e);
      lasts.set(name, e);
    } catch { /* not a whole JSON line: counted, not kept */ }
  });
  const exited = new Promise((resolve) => child.on('close', (code, signal) => {
    const measure = existsSync(measureFile) ? JSON.parse(readFileSync(measureFile, 'utf8').trim().split('\n')[0]) : {};
    resolve({ code, signal, measure });
  }));
  const running = () => child.exitCode === null && child.signalCode === null;
  const tail = () => [...tailLines, ...['exit', 'done'].flatMap((n) => (lasts.has(n) ? [JSON.stringify(lasts.get(n))] : []))].slice(-3).join(' | ');
  return {
    child, pid: child.pid, exited, running, tail,
    first: (name) => firsts.get(name),
    last: (name) => lasts.get(name),
    count: (name) => counts.get(name) ?? 0,
    /** The first event named `name`; rejects when the process exits first or after `ms`. */
    async waitFor(name, ms = 30_000) {
      const until = performance.now() + ms;
      while (performance.now() < until) {
        if (firsts.has(name)) return firsts.get(name);
        if (!running()) break;
        await sleep(20);
      }
      throw new Error(`${path.basename(path.dirname(path.dirname(cli)))}: no '${name}' event within ${ms / 1000} s: ${tail()}`);
    },
    /** Resolves with the exit once it happens, or with undefined after `ms`. */
    async exitWithin(ms) {
      let timer;
      const result = await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, ms)))]);
      clearTimeout(timer);
      return result;
    },
    /** SIGTERM now, SIGKILL after `graceMs`; resolves with the exit. */
    async stop(graceMs = 10_000) {
      if (running()) child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(kill);
      return result;
    },
  };
}
