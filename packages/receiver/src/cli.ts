#!/usr/bin/env node
import { mkdirSync, realpathSync, statSync } from 'node:fs';
import * as path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { parseByteSize, parseEndpoint } from '@diodesync/protocol';
import { DestTree } from './dest-tree.js';
import { log } from './log.js';
import { isInside } from './paths.js';
import { Receiver } from './receiver.js';
import { writeReport } from './report.js';
import { SyncTracker } from './sync-tracker.js';
import { listenUdp, type UdpSource } from './udp-source.js';

const PROGRAM = 'diode-receive';

/** A mistake in what the user asked for: one line, exit 1. */
class UsageError extends Error {}

function fail(message: string, code = 1): never {
  process.stderr.write(`${PROGRAM}: error: ${message}\n`);
  process.exit(code);
}

/** Default state directory: beside the mirror (same file system, so renames stay atomic), never inside it. */
function defaultStateDir(dest: string): string {
  return path.join(path.dirname(dest), `.${path.basename(dest)}.diodesync`);
}

function ensureDirectory(dir: string, what: string): string {
  try {
    mkdirSync(dir, { recursive: true });
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    return realpathSync(dir);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UsageError(`cannot use ${what} '${dir}': ${e.code === 'EEXIST' || e.message === 'not a directory' ? 'not a directory' : e.code ?? e.message}`);
  }
}

async function main(): Promise<void> {
  const argv = await yargs(hideBin(process.argv))
    .scriptName(PROGRAM)
    .usage('$0 <dest-dir> --listen URL [options]\n\nReceive a tree from a one-way link into an exact mirror.')
    .command('$0 <dest-dir>', 'receive into dest-dir', (y) =>
      y.positional('dest-dir', { type: 'string', describe: 'mirror directory (created if missing)', demandOption: true }))
    .option('listen', { type: 'string', demandOption: true, describe: 'where frames arrive: udp://HOST:PORT' })
    .option('state', { type: 'string', describe: 'receiver state: partial files, report (default: .<dest>.diodesync beside dest-dir)' })
    .option('exit-when-synced', { type: 'boolean', default: false, describe: "exit 0 once every file of the sender's manifest is present and verified" })
    .option('timeout', { type: 'number', default: 0, describe: 'with --exit-when-synced: give up after this many seconds, write the report, exit 2 (0 = never)' })
    .option('rcvbuf', { type: 'string', default: '32m', describe: 'socket receive buffer (capped by net.core.rmem_max)' })
    .option('max-buffer', { type: 'string', default: '64m', describe: 'memory for chunks not yet written; beyond it chunks are dropped and counted' })
    .config('config', 'JSON file whose keys are long option names')
    .strict()
    .help()
    .version(false)
    .fail((msg, err) => {
      throw new UsageError(msg ?? err?.message ?? 'invalid arguments');
    })
    .parseAsync();

  const endpoint = parseOrUsage(() => parseEndpoint(argv.listen, ['udp']));
  const rcvbuf = parseOrUsage(() => parseByteSize(argv.rcvbuf));
  const maxBuffer = parseOrUsage(() => parseByteSize(argv['max-buffer']));
  if (!(argv.timeout >= 0)) throw new UsageError('--timeout must be a number of seconds >= 0');
  const dest = ensureDirectory(path.resolve(String(argv['dest-dir'])), 'destination');
  const stateDir = ensureDirectory(path.resolve(argv.state ?? defaultStateDir(dest)), 'state directory');
  if (isInside(dest, stateDir)) throw new UsageError('--state must not be inside the destination directory');

  const tree = new DestTree(dest);
  const sync = new SyncTracker(tree);
  let exiting = false;
  const exitOnce = (code: number, reason: string) => {
    if (exiting) return;
    exiting = true;
    setImmediate(() =>
      shutdown(code, reason).catch((err: Error) => fail(`while stopping: ${err.message}`)),
    );
  };
  const receiver = new Receiver(
    {
      stateDir, maxBufferedBytes: maxBuffer, maxPartials: 1024,
      onSynced: () => argv['exit-when-synced'] && exitOnce(0, 'synced'),
      onManifest: () => void sync.report().then((r) => writeReport(stateDir, r)).catch(() => undefined),
    },
    tree,
    sync,
  );
  await receiver.init();

  let source: UdpSource | undefined;
  try {
    source = await listenUdp(endpoint.host, endpoint.port, rcvbuf, (d) => receiver.handleDatagram(d));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EADDRINUSE' ? 'address already in use' : e.code === 'EADDRNOTAVAIL' ? 'address not available on this host' : e.code ?? e.message;
    throw new UsageError(`cannot listen on ${argv.listen}: ${why}`);
  }
  log('listening', { on: `udp://${endpoint.host}:${source.port}`, port: source.port, dest, state: stateDir, rcvbuf: source.receiveBufferBytes });

  async function shutdown(code: number, reason: string): Promise<void> {
    await source?.close();
    await receiver.close();
    const report = await sync.report();
    const reportPath = await writeReport(stateDir, report);
    const c = receiver.counters;
    const dropped = Object.values(c.framing).reduce((a, b) => a + b, 0);
    log('exit', {
      reason, synced: report.synced, missing: report.missing.length, outdated: report.outdated.length,
      files: c.filesCompleted, frames: c.framesReceived, badFrames: dropped, verifyFailed: c.verifyFailed,
      queueOverflow: c.queueOverflow, fecRepairedChunks: c.fecRepairedChunks, fecBlocksRepaired: c.fecBlocksRepaired,
      fecRepairFailed: c.fecRepairFailed, report: reportPath,
    });
    process.exit(code);
  }

  if (argv['exit-when-synced'] && argv.timeout > 0) {
    setTimeout(() => exitOnce(2, 'timeout'), argv.timeout * 1000).unref();
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => exitOnce(0, signal));
  // Keep the process alive while the socket is open.
}

function parseOrUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

main().catch((err: unknown) => {
  if (err instanceof UsageError) fail(err.message);
  const e = err as NodeJS.ErrnoException;
  if (process.env.DIODESYNC_DEBUG) process.stderr.write(`${e.stack}\n`);
  fail(String(e.message ?? e));
});
