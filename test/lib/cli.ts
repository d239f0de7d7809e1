import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SEND_CLI = fileURLToPath(new URL('../../../packages/sender/dist/cli.js', import.meta.url));
export const RECEIVE_CLI = fileURLToPath(new URL('../../../packages/receiver/dist/cli.js', import.meta.url));
export const IMPAIR_CLI = fileURLToPath(new URL('../../../packages/impair/dist/impair-cli.js', import.meta.url));

const running = new Set<ChildProcess>();
const stateHomes = new Set<string>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
  for (const dir of stateHomes) rmSync(dir, { recursive: true, force: true });
});

export interface Exited {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  stdout: string;
}

export interface Running {
  child: ChildProcess;
  exited: Promise<Exited>;
  stderr(): string;
  /** Resolves with the first JSON log line whose event is `event`. */
  waitForEvent(event: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Runs a built CLI as a child process; it is killed at the latest when the test process exits.
 * Each child gets its own XDG_STATE_HOME, so a sender's default ledger never lands in the
 * user's home nor is shared between tests; tests that resume pass --state or --ledger.
 * With `netns`, it runs inside that network namespace (the one-way lab).
 */
export function start(cli: string, args: string[], env: NodeJS.ProcessEnv = {}, netns?: string): Running {
  args = stateBesideDest(cli, args);
  const stateHome = mkdtempSync(path.join(tmpdir(), 'diodesync-state-'));
  // `ip netns exec` execs node in place: the child's pid is node's, so kill() reaches it.
  const [command, prefix] = netns ? ['ip', ['netns', 'exec', netns, process.execPath]] : [process.execPath, []];
  const child = spawn(command, [...prefix, cli, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DIODESYNC_LOG: 'json', XDG_STATE_HOME: stateHome, ...env },
  });
  stateHomes.add(stateHome);
  child.on('close', () => {
    stateHomes.delete(stateHome);
    rmSync(stateHome, { recursive: true, force: true });
  });
  running.add(child);
  let stderr = '';
  let stdout = '';
  const listeners = new Set<() => void>();
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    for (const l of listeners) l();
  });
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString('latin1')));
  const exited = new Promise<Exited>((resolve) =>
    child.on('close', (code, signal) => {
      running.delete(child);
      for (const l of listeners) l();
      resolve({ code, signal, stderr, stdout });
    }));
  return {
    child,
    exited,
    stderr: () => stderr,
    kill: (signal = 'SIGTERM') => void child.kill(signal),
    waitForEvent(event, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          for (const line of stderr.split('\n')) {
            if (!line.startsWith('{')) continue;
            const parsed = JSON.parse(line) as Record<string, unknown>;
            if (parsed.event === event) return done(() => resolve(parsed));
          }
          if (child.exitCode !== null || child.signalCode !== null) done(() => reject(new Error(`exited before '${event}': ${stderr}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`no '${event}' within ${timeoutMs} ms: ${stderr}`))), timeoutMs);
        const done = (f: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          f();
        };
        listeners.add(check);
        check();
      });
    },
  };
}

/**
 * A receiver run with no --state keeps its state beside dest, in `.<dest>.diodesync` (the old
 * default, still honoured): the tests read report.json there, and a restarted receiver finds its
 * partial files, although each child has its own XDG_STATE_HOME. Tests of the default location
 * itself pass --state=default, which is dropped here.
 */
export function stateBesideDest(cli: string, args: string[]): string[] {
  if (cli !== RECEIVE_CLI) return args;
  if (args.includes('--state=default')) return args.filter((a) => a !== '--state=default');
  const dest = args[0];
  if (dest === undefined || dest.startsWith('-') || dest === 'status' || dest === 'verify' || args.some((a) => a === '--state' || a.startsWith('--state='))) return args;
  return [...args, '--state', path.join(path.dirname(dest), `.${path.basename(dest)}.diodesync`)];
}

/** Starts a receiver on an ephemeral loopback port and returns once it listens. */
export async function startReceiver(dest: string, args: string[] = []): Promise<Running & { port: number }> {
  const receiver = start(RECEIVE_CLI, [dest, '--listen', 'udp://127.0.0.1:0', ...args]);
  const listening = await receiver.waitForEvent('listening');
  return Object.assign(receiver, { port: Number(listening.port) });
}

/** Starts `diode-impair` between an ephemeral loopback port and `targetPort`; returns once it listens. */
export async function startImpairRelay(targetPort: number, args: string[]): Promise<Running & { port: number }> {
  const relay = start(IMPAIR_CLI, ['--listen', 'udp://127.0.0.1:0', '--to', `udp://127.0.0.1:${targetPort}`, '--stats', '0', ...args]);
  const listening = await relay.waitForEvent('listening');
  return Object.assign(relay, { port: Number(listening.port) });
}

/** Stops a relay and returns the counters of its exit line. */
export async function stopImpairRelay(relay: Running): Promise<Record<string, number>> {
  relay.kill('SIGTERM');
  const { stderr } = await relay.exited;
  return events(stderr).find((e) => e.event === 'exit') as Record<string, number>;
}

export function runSender(source: string, to: string, args: string[] = []): Promise<Exited> {
  return start(SEND_CLI, [source, '--to', to, ...args]).exited;
}

/** Lines of a log that are JSON events, parsed. */
export function events(log: string): Record<string, unknown>[] {
  return log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Runs a CLI that must refuse its arguments: exit 1, one line on stderr matching `pattern`, no stack trace. */
export async function expectUsageError(cli: string, args: string[], pattern: RegExp): Promise<void> {
  const { code, stderr } = await start(cli, args).exited;
  assert.equal(code, 1, `${args.join(' ')}: ${stderr}`);
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got: ${stderr}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(stderr, /\bat .*\.js:\d+/, 'no stack trace');
}
