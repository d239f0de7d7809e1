// What every row of the bench shares: the built CLIs, the options, the temp dir (removed at exit)
// and the children still running (killed at exit, so an interrupted bench leaves nothing behind).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const BENCH = path.resolve(here, '..');
export const REPO = path.resolve(BENCH, '..');
export const SEND = path.join(REPO, 'packages/sender/dist/cli.js');
export const RECEIVE = path.join(REPO, 'packages/receiver/dist/cli.js');
export const MEASURE = path.join(here, 'measure.mjs');
/** Node flags for every CLI the bench starts (DIODESYNC_BENCH_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p"; NODE_OPTIONS refuses --cpu-prof). */
export const CLI_NODE_ARGS = (process.env.DIODESYNC_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);

const children = new Set();
/** Children the bench started; each is removed once it has exited. */
export function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

const FLAGS = ['quick', 'keep'];
const OPTIONS = ['tmp', 'only', 'size', 'big-size', 'files', 'runs', 'max-steps', 'start-rate', 'out', 'tree-files', 'idle-seconds', 'settle', 'manifest-interval', 'tree-rate', 'send-timeout', 'rss-limit'];

/** A typo must not start an hour of benchmarks with the defaults: anything unknown stops the bench. */
function checkArgs(argv) {
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/^--/, '');
    if (!argv[i].startsWith('--') || !(FLAGS.includes(name) || OPTIONS.includes(name))) {
      console.error(`bench: unknown argument ${JSON.stringify(argv[i])}; flags: ${FLAGS.map((f) => `--${f}`).join(' ')}; options with a value: ${OPTIONS.map((o) => `--${o}`).join(' ')} (see the top of bench/run.mjs)`);
      process.exit(1);
    }
    if (OPTIONS.includes(name)) {
      if (argv[i + 1] === undefined) {
        console.error(`bench: ${argv[i]} needs a value`);
        process.exit(1);
      }
      i++;
    }
  }
}

export function createContext(argv) {
  checkArgs(argv);
  const flag = (name) => argv.includes(`--${name}`);
  const value = (name) => (flag(name) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
  const quick = flag('quick');
  const work = mkdtempSync(path.join(value('tmp') ?? tmpdir(), 'diodesync-bench-'));
  const keep = flag('keep');
  const cleanup = () => {
    for (const child of children) child.kill('SIGKILL');
    if (keep) console.log(`bench: --keep: the temp dir stays, ${work}`);
    else rmSync(work, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));
  return {
    quick,
    only: value('only') ? new Set(value('only').split(',')) : undefined,
    // Sizes: the issue's by default; --quick makes every row small enough to smoke-test in minutes.
    sizeMB: Number(value('size') ?? (quick ? 20 : 500)),
    bigMB: Number(value('big-size') ?? (quick ? 40 : 2000)),
    smallFiles: Number(value('files') ?? (quick ? 1000 : 10_000)),
    runs: Number(value('runs') ?? (quick ? 1 : 3)),
    maxSteps: Number(value('max-steps') ?? (quick ? 2 : 40)),
    startRateM: Number(value('start-rate') ?? 1000),
    out: value('out'),
    // The million-file rows (issue 18): the tree's size, the idle window, the sender's timers.
    treeFiles: Number(value('tree-files') ?? (quick ? 1000 : 1_000_000)),
    idleSeconds: Number(value('idle-seconds') ?? (quick ? 5 : 300)),
    settleMs: Number(value('settle') ?? 1000),
    manifestIntervalS: Number(value('manifest-interval') ?? (quick ? 10 : 300)),
    // Bounds for a run of today's code at a million files: the first send's --timeout (default by size)
    // and the RSS of both sides together at which it is stopped, so a shared machine is not swapped out.
    // 20m: what this receiver places of 0-4 KiB files (about 600-1,400 files/s); at 500m it drops
    // most frames of a small-file tree and, with -R 1, nothing comes again.
    treeRate: value('tree-rate') ?? '20m',
    sendTimeoutS: value('send-timeout') === undefined ? undefined : Number(value('send-timeout')),
    rssLimitMB: Number(value('rss-limit') ?? Math.round((totalmem() * 0.6) / 2 ** 20)),
    keep,
    work,
    nextId: (() => { let n = 0; return () => ++n; })(),
  };
}
