#!/usr/bin/env node
// Each placed file costs an fdatasync and a rename in libuv's thread pool: four threads
// (the default) cap a small-file tree at a few hundred files per second.
process.env.UV_THREADPOOL_SIZE ??= '16';
import * as path from 'node:path';
import { hideBin } from 'yargs/helpers';
import { UsageError } from '@diodesync/cli-kit';
import { nativeIo, writebackPath } from '@diodesync/native';
import { ResourceLimits } from './assembly/limits.js';
import { openSource, type Source } from './ingest/open-source.js';
import { log } from './log.js';
import { removeStaleJsonTemps } from './operations/json-file.js';
import { LinkWatchdog } from './operations/link-watchdog.js';
import { every } from './operations/maintenance.js';
import { startMetricsServer } from './operations/metrics-server.js';
import { PROGRAM, parseCommandLine, type ReceiveOptions } from './operations/options.js';
import type { ReceiverReport } from '@diodesync/protocol';
import { reserveReportSpace, writeReport } from './operations/report.js';
import { finalCode, logExit, stopStep } from './operations/shutdown.js';
import { printStatus, writeStatus, type ReceiverStatus } from './operations/status.js';
import { ChangeApplier } from './placement/change-applier.js';
import { DestTree } from './placement/dest-tree.js';
import { SyncTracker } from './placement/sync-tracker.js';
import { Receiver } from './receiver.js';

const STATUS_EVERY_MS = 1_000;
const QUARANTINE_CHECK_EVERY_MS = 3_600_000;

function fail(message: string, code = 1): never {
  process.stderr.write(`${PROGRAM}: error: ${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  const command = await parseCommandLine(hideBin(process.argv));
  if (command.command === 'status') return printStatus(command.stateDir, command.json);
  await receive(command.options);
}

/** Wires the stages (receiver.ts), the transport and the operations around them, and runs until told to stop. */
async function receive(o: ReceiveOptions): Promise<void> {
  const { listen, dest, stateDir } = o;
  const tree = new DestTree(dest);
  const changes = new ChangeApplier(tree, path.join(stateDir, 'quarantine'), o.applyDeletes, o.quarantineDays);
  every(QUARANTINE_CHECK_EVERY_MS, () => void changes.expireQuarantine(), { now: true });
  const sync = new SyncTracker(tree, o.portableNames);
  await removeStaleJsonTemps(stateDir);
  await reserveReportSpace(stateDir);
  const watchdog = new LinkWatchdog((event, detail) => log(event, detail), o.onAlert);
  let exiting = false;
  const exitOnce = (code: number, reason: string) => {
    if (exiting) return;
    exiting = true;
    setImmediate(() => void shutdown(code, reason));
  };
  const receiver = new Receiver(
    {
      stateDir, maxBuffer: o.maxBuffer, maxPartials: o.workers, partialTtlMs: o.partialTtlMs,
      onSynced: () => o.exitWhenSynced && exitOnce(0, 'synced'),
      onManifest: () => {
        void saveReport().catch(() => undefined);
        // Waiting would change nothing: every file still missing is refused for its name.
        if (o.exitWhenSynced && sync.onlyRefusedLeft) exitOnce(2, 'refused');
      },
      onHeartbeat: (sessionId, hb) => watchdog.heartbeat(sessionId, hb.intervalMs, hb.host),
      changes, keys: o.keys, requireEncryption: o.encrypt, portableNames: o.portableNames,
      limits: new ResourceLimits(o.limits, [dest, stateDir]),
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
  const buildReport = async (): Promise<ReceiverReport> => ({ ...(await sync.report()), partial: receiver.partialSummary(), expired: receiver.expired });
  const saveReport = async () => writeReport(stateDir, await buildReport());

  const source: Source = await openSource(listen, o.endpoint, o, receiver, {
    failed: (err) => {
      log('reader-failed', { error: err.message });
      exitOnce(1, 'reader failed');
    },
    connection: (state, detail) => log(state, { detail }),
    ended: async () => {
      await receiver.settle();
      await sync.settle();
      exitOnce(sync.synced ? 0 : 2, 'end of input');
    },
  });
  const metrics = o.metrics && await startMetricsServer(o.metrics.host, o.metrics.port, () => status(true)).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot serve metrics on ${o.metrics!.text}: ${err.code ?? err.message}`);
  });
  log('listening', {
    on: listen, port: source.port, dest, state: stateDir, metricsPort: metrics?.port, keys: o.keys.length, encrypt: o.encrypt,
    io: source.io ?? 'stream', native: nativeIo.available ? 'addon' : `fallback (${nativeIo.reason})`,
    writeback: writebackPath,
  });
  // Linux grants at most net.core.rmem_max (and reports twice what it grants): say so, rather than run on less in silence.
  if (source.receiveBufferBytes !== undefined && source.receiveBufferBytes / 2 < o.rcvbuf) {
    log('rcvbuf-capped', { asked: o.rcvbuf, granted: source.receiveBufferBytes / 2, hint: 'the kernel caps it at net.core.rmem_max: raise that (sysctl) for a bigger socket buffer; the reader thread still holds --rcvbuf' });
  }
  const statusTimer = every(STATUS_EVERY_MS, () => void writeStatus(stateDir, status(true)).catch(() => undefined), { keepAlive: true });

  /**
   * Stops in order and always ends with the report and the exit line: a step that fails (a full
   * disk) is logged and the others still run. An incomplete mirror never exits 0 or 1.
   */
  async function shutdown(code: number, reason: string): Promise<void> {
    statusTimer.stop();
    watchdog.stop();
    await stopStep('close source', async () => source.close());
    await stopStep('close metrics', async () => metrics?.close());
    await stopStep('checkpoint partial files', () => receiver.close());
    await stopStep('write status', () => writeStatus(stateDir, status(false)));
    let report: ReceiverReport | undefined;
    let reportPath: string | undefined;
    await stopStep('build report', async () => (report = await buildReport()));
    await stopStep('write report', async () => (reportPath = report && (await writeReport(stateDir, report, true))));
    code = finalCode(code, report, sync.synced);
    logExit(reason, code, { report, reportPath, synced: sync.synced, counters: receiver.counters, framesLost: receiver.sequences.lost, partial: receiver.partialCount });
    process.exit(code);
  }

  if (o.exitWhenSynced && o.timeoutSeconds > 0) {
    setTimeout(() => exitOnce(2, 'timeout'), o.timeoutSeconds * 1000).unref();
  }
  // A job that waits for sync and is stopped first did not sync: 2. A service stopped by its manager: 0.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => exitOnce(o.exitWhenSynced && !sync.synced ? 2 : 0, signal));
}

main().catch((err: unknown) => {
  if (err instanceof UsageError) fail(err.message);
  const e = err as NodeJS.ErrnoException;
  if (process.env.DIODESYNC_DEBUG) process.stderr.write(`${e.stack}\n`);
  fail(String(e.message ?? e));
});
