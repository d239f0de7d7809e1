#!/usr/bin/env node
// Each placed file costs an fdatasync and a rename in libuv's thread pool: four threads
// (the default) cap a small-file tree at a few hundred files per second.
process.env.UV_THREADPOOL_SIZE ??= '16';
import { mkdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import * as path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import {
  UsageError, keyFromFile, parseByteSize, parseEndpoint, parseOrUsage, stdioDashAsValue, type Frame, type FrameAuthenticator,
} from '@diodesync/protocol';
import { nativeIo } from '@diodesync/native';
import { ChangeApplier } from './placement/change-applier.js';
import { DestTree } from './placement/dest-tree.js';
import { ResourceLimits, parseFreeFloor } from './assembly/limits.js';
import { LinkWatchdog } from './operations/link-watchdog.js';
import { log } from './log.js';
import { startMetricsServer } from './operations/metrics-server.js';
import { isInside } from './placement/paths.js';
import { Receiver } from './receiver.js';
import { removeStaleJsonTemps } from './operations/json-file.js';
import { reserveReportSpace, writeReport } from './operations/report.js';
import { formatStatus, readStatus, writeStatus, type ReceiverStatus } from './operations/status.js';
import { connectTcp, listenTcp, pipeStream } from './ingest/stream-source.js';
import { SyncTracker } from './placement/sync-tracker.js';
import { listenUdp } from './ingest/udp-source.js';

const PROGRAM = 'diode-receive';
const STATUS_EVERY_MS = 1_000;

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
  const argv = await yargs(stdioDashAsValue(hideBin(process.argv), '--listen'))
    .scriptName(PROGRAM)
    .usage('$0 <dest-dir> --listen URL [options]\n$0 status --state DIR [--json]\n\nReceive a tree from a one-way link into an exact mirror.')
    .command('status', "show a receiver's counters, queues and link state", (y) => y
      .option('state', { type: 'string', demandOption: true, describe: 'the receiver state directory' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' }))
    .command('$0 <dest-dir>', 'receive into dest-dir', (y) => y
      .positional('dest-dir', { type: 'string', describe: 'mirror directory (created if missing)', demandOption: true })
      .option('listen', { type: 'string', demandOption: true, describe: 'where frames arrive: udp://HOST:PORT (unicast or multicast group), tcp-listen://HOST:PORT, tcp://HOST:PORT (appliance high side), or - for stdin' })
      .option('multicast-interface', { type: 'string', describe: 'local address of the interface to join a multicast group on' })
      .option('state', { type: 'string', describe: 'receiver state: partial files, report, status (default: .<dest>.diodesync beside dest-dir)' })
      .option('exit-when-synced', { type: 'boolean', default: false, describe: "exit 0 once every file of the sender's manifest is present and verified" })
      .option('timeout', { type: 'number', default: 0, describe: 'with --exit-when-synced: give up after this many seconds, write the report, exit 2 (0 = never)' })
      .option('rcvbuf', { type: 'string', default: '32m', describe: 'receive buffer: the socket\'s (capped by net.core.rmem_max), and as much again held by the reader thread' })
      .option('max-buffer', { type: 'string', default: '64m', describe: 'memory for chunks not yet written; beyond it chunks are dropped and counted' })
      .option('workers', { type: 'number', default: 256, describe: 'objects assembled at once; headers of further objects wait for the next pass' })
      .option('partial-ttl', { type: 'number', default: 24, describe: 'hours a partial file may wait for its missing chunks before it is removed and reported' })
      .option('on-alert', { type: 'string', describe: 'shell command run on link-down, link-up and sender-restart (DIODESYNC_EVENT says which)' })
      .option('apply-deletes', { type: 'boolean', default: false, describe: "apply the sender's deletes and renames (deleted files go to <state>/quarantine)" })
      .option('quarantine-days', { type: 'number', default: 7, describe: 'days a deleted file is kept in quarantine' })
      .option('metrics', { type: 'string', describe: 'serve Prometheus metrics on HOST:PORT' })
      .option('key-file', { type: 'string', array: true, describe: 'pre-shared key (mode 600): drop every frame whose tag does not verify; give it twice while rotating keys' })
      .option('encrypt', { type: 'boolean', default: false, describe: 'with --key-file: also drop frames that are not encrypted' })
      .option('max-file-size', { type: 'string', default: '64g', describe: 'refuse (and count) files announced larger than this' })
      .option('max-files', { type: 'number', default: 10_000_000, describe: 'refuse new files once the mirror and the files under way hold this many' })
      .option('portable-names', { type: 'boolean', default: false, describe: 'refuse (and report) names Windows cannot hold: for a mirror that is later copied to Windows' })
      .option('min-free', { type: 'string', default: '1g', describe: 'refuse files that would leave less free space than this (bytes, or N% of the file system)' }))
    .config('config', 'JSON file whose keys are long option names')
    .strict()
    .help()
    .version(false)
    .fail((msg, err) => {
      throw new UsageError(msg ?? err?.message ?? 'invalid arguments');
    })
    .parseAsync();

  if (argv._[0] === 'status') return showStatus(String(argv.state), Boolean(argv.json));

  const listen = String(argv.listen);
  const endpoint = parseOrUsage(() => parseEndpoint(listen, ['udp', 'tcp-listen', 'tcp', 'stdio']));
  const rcvbuf = parseOrUsage(() => parseByteSize(String(argv.rcvbuf)));
  const maxBuffer = parseOrUsage(() => parseByteSize(String(argv['max-buffer'])));
  const timeout = Number(argv.timeout);
  const workers = Number(argv.workers);
  const partialTtlHours = Number(argv['partial-ttl']);
  if (!(timeout >= 0)) throw new UsageError('--timeout must be a number of seconds >= 0');
  if (!Number.isInteger(workers) || workers < 1) throw new UsageError('--workers must be a whole number >= 1');
  if (!(partialTtlHours > 0)) throw new UsageError('--partial-ttl must be a number of hours > 0');
  const maxFileSize = parseOrUsage(() => parseByteSize(String(argv['max-file-size'])));
  const maxFiles = Number(argv['max-files']);
  if (!Number.isInteger(maxFiles) || maxFiles < 1) throw new UsageError('--max-files must be a whole number >= 1');
  const minFree = parseOrUsage(() => parseFreeFloor(String(argv['min-free']), parseByteSize));
  const keyFiles = ((argv['key-file'] ?? []) as unknown[]).map(String);
  if (argv.encrypt && keyFiles.length === 0) throw new UsageError('--encrypt needs --key-file');
  const keys = keyFiles.map(readKey);
  const metricsAt = argv.metrics === undefined ? undefined : parseOrUsage(() => parseEndpoint(`tcp://${String(argv.metrics)}`, ['tcp']));
  const dest = ensureDirectory(path.resolve(String(argv['dest-dir'])), 'destination');
  const stateDir = ensureDirectory(path.resolve(argv.state === undefined ? defaultStateDir(dest) : String(argv.state)), 'state directory');
  if (isInside(dest, stateDir)) throw new UsageError('--state must not be inside the destination directory');

  const quarantineDays = Number(argv['quarantine-days']);
  if (!(quarantineDays >= 0)) throw new UsageError('--quarantine-days must be a number >= 0');
  const tree = new DestTree(dest);
  const changes = new ChangeApplier(tree, path.join(stateDir, 'quarantine'), Boolean(argv['apply-deletes']), quarantineDays);
  void changes.expireQuarantine();
  setInterval(() => void changes.expireQuarantine(), 3_600_000).unref();
  const portableNames = Boolean(argv['portable-names']);
  const sync = new SyncTracker(tree, portableNames);
  await removeStaleJsonTemps(stateDir);
  await reserveReportSpace(stateDir);
  const watchdog = new LinkWatchdog((event, detail) => log(event, detail), argv['on-alert'] === undefined ? undefined : String(argv['on-alert']));
  let exiting = false;
  const exitOnce = (code: number, reason: string) => {
    if (exiting) return;
    exiting = true;
    setImmediate(() => void shutdown(code, reason));
  };
  const receiver = new Receiver(
    {
      stateDir, maxBuffer, maxPartials: workers, partialTtlMs: partialTtlHours * 3_600_000,
      onSynced: () => argv['exit-when-synced'] && exitOnce(0, 'synced'),
      onManifest: () => {
        void saveReport().catch(() => undefined);
        // Waiting would change nothing: every file still missing is refused for its name.
        if (argv['exit-when-synced'] && sync.onlyRefusedLeft) exitOnce(2, 'refused');
      },
      onHeartbeat: (sessionId, hb) => watchdog.heartbeat(sessionId, hb.intervalMs, hb.host),
      changes, keys, requireEncryption: Boolean(argv.encrypt), portableNames,
      limits: new ResourceLimits({ maxFileSize, maxFiles, minFree }, [dest, stateDir]),
    },
    tree,
    sync,
  );
  sync.onLost = (lost) => receiver.forgetCompleted(lost);
  await receiver.init();

  const status = (running: boolean): ReceiverStatus => ({
    updatedAt: new Date().toISOString(), pid: process.pid, running, listen, dest,
    counters: receiver.counters, framesLost: receiver.sequences.lost, partialFiles: receiver.partialCount,
    bufferedBytes: receiver.budget.held, synced: sync.synced, missing: sync.pendingCount, link: watchdog.state,
    lastHeartbeat: watchdog.lastHeartbeat ? new Date(watchdog.lastHeartbeat).toISOString() : null,
  });
  const buildReport = async () => ({ ...(await sync.report()), partial: receiver.partialSummary(), expired: receiver.expired });
  const saveReport = async () => writeReport(stateDir, await buildReport());

  let source: { port: number; close(): Promise<void> } | undefined;
  const onFrame = (frame: Frame) => receiver.handleFrame(frame);
  try {
    switch (endpoint.scheme) {
      case 'udp':
        source = await listenUdp(endpoint.host, endpoint.port, rcvbuf, {
          onDatagram: (d) => receiver.handleDatagram(d),
          onOverflow: (count) => (receiver.counters.queueOverflow += count),
          onFailure: (err) => {
            log('reader-failed', { error: err.message });
            exitOnce(1, 'reader failed');
          },
        }, argv['multicast-interface'] as string | undefined);
        break;
      case 'tcp-listen':
        source = await listenTcp(endpoint.host, endpoint.port, receiver.counters, onFrame);
        break;
      case 'tcp':
        source = connectTcp(endpoint.host, endpoint.port, receiver.counters, onFrame, (state, detail) => log(state, { detail }));
        break;
      case 'stdio':
        source = { port: 0, close: async () => void process.stdin.destroy() };
        // The stream is the whole transfer: when it ends, so does the receiver.
        void pipeStream(process.stdin, receiver.counters, onFrame).then(async () => {
          await receiver.settle();
          await sync.settle();
          exitOnce(sync.synced ? 0 : 2, 'end of input');
        });
        break;
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EADDRINUSE' ? 'address already in use' : e.code === 'EADDRNOTAVAIL' ? 'address not available on this host' : e.code ?? e.message;
    throw new UsageError(`cannot listen on ${listen}: ${why}`);
  }
  const metrics = metricsAt && await startMetricsServer(metricsAt.host, metricsAt.port, () => status(true)).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot serve metrics on ${String(argv.metrics)}: ${err.code ?? err.message}`);
  });
  log('listening', {
    on: listen, port: source?.port, dest, state: stateDir, metricsPort: metrics?.port, keys: keys.length, encrypt: Boolean(argv.encrypt),
    native: nativeIo.available ? 'addon' : `fallback (${nativeIo.reason})`,
  });
  const statusTimer = setInterval(() => void writeStatus(stateDir, status(true)).catch(() => undefined), STATUS_EVERY_MS);

  /**
   * Stops in order and always ends with the report and the exit line: a step that fails (a full
   * disk) is logged and the others still run. An incomplete mirror never exits 0 or 1.
   */
  async function shutdown(code: number, reason: string): Promise<void> {
    clearInterval(statusTimer);
    watchdog.stop();
    const step = async (what: string, run: () => Promise<unknown>) => {
      try {
        await run();
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        log('stop-failed', { step: what, error: e.code ?? e.message });
      }
    };
    await step('close source', async () => source?.close());
    await step('close metrics', async () => metrics?.close());
    await step('checkpoint partial files', () => receiver.close());
    await step('write status', () => writeStatus(stateDir, status(false)));
    let report: Awaited<ReturnType<typeof buildReport>> | undefined;
    let reportPath: string | undefined;
    await step('build report', async () => (report = await buildReport()));
    await step('write report', async () => (reportPath = report && (await writeReport(stateDir, report, true))));
    if (!report) code = code === 0 && sync.synced ? 0 : 2;
    else if (code === 1 && !report.synced) code = 2;
    const c = receiver.counters;
    const dropped = Object.values(c.framing).reduce((a, b) => a + b, 0);
    log('exit', {
      reason, code, synced: report?.synced ?? sync.synced, missing: report?.missing.length, outdated: report?.outdated.length,
      files: c.filesCompleted, frames: c.framesReceived, framesLost: receiver.sequences.lost, badFrames: dropped,
      verifyFailed: c.verifyFailed, authFailed: Object.values(c.auth).reduce((a, b) => a + b, 0),
      refused: Object.values(c.limits).reduce((a, b) => a + b, 0), badPath: c.badPath, staleSession: c.staleSession, queueOverflow: c.queueOverflow, partial: receiver.partialCount,
      fecRepairedChunks: c.fecRepairedChunks, fecBlocksRepaired: c.fecBlocksRepaired, fecRepairFailed: c.fecRepairFailed,
      writeErrors: c.writeErrors, report: reportPath ?? 'not written',
    });
    process.exit(code);
  }

  if (argv['exit-when-synced'] && timeout > 0) {
    setTimeout(() => exitOnce(2, 'timeout'), timeout * 1000).unref();
  }
  // A job that waits for sync and is stopped first did not sync: 2. A service stopped by its manager: 0.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => exitOnce(argv['exit-when-synced'] && !sync.synced ? 2 : 0, signal));
}

/** Reads a pre-shared key; the permission check and parsing live in the protocol package. */
function readKey(file: string): FrameAuthenticator {
  try {
    return keyFromFile(file, statSync(file).mode, readFileSync(file, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UsageError(e.code ? `cannot read key file '${file}': ${e.code}` : e.message);
  }
}

async function showStatus(stateDir: string, json: boolean): Promise<void> {
  const status = await readStatus(stateDir).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`no receiver status in '${stateDir}' (${err.code ?? err.message}): is it the --state of a receiver that has run?`);
  });
  // A status file left by a process that died without stopping cleanly says "running": check.
  if (status.running) {
    try {
      process.kill(status.pid, 0);
    } catch {
      status.running = false;
    }
  }
  process.stdout.write(json ? JSON.stringify(status, null, 2) + '\n' : formatStatus(status) + '\n');
}

main().catch((err: unknown) => {
  if (err instanceof UsageError) fail(err.message);
  const e = err as NodeJS.ErrnoException;
  if (process.env.DIODESYNC_DEBUG) process.stderr.write(`${e.stack}\n`);
  fail(String(e.message ?? e));
});
