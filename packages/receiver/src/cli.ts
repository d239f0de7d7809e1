#!/usr/bin/env node
// Each placed file costs an fdatasync and a rename in libuv's thread pool: four threads
// (the default) cap a small-file tree at a few hundred files per second.
process.env.UV_THREADPOOL_SIZE ??= '16';
import * as path from 'node:path';
import { hideBin } from 'yargs/helpers';
import { UsageError, parseOrUsage, runMain } from '@diodesync/cli-kit';
import { nativeIo, writebackPath } from '@diodesync/native';
import { crcPath } from '@diodesync/protocol';
import { ResourceLimits } from './assembly/limits.js';
import { log } from './log.js';
import { removeStaleJsonTemps } from './operations/json-file.js';
import { LinkWatchdog } from './operations/link-watchdog.js';
import { ListenLinks } from './operations/listen-links.js';
import { every } from './operations/maintenance.js';
import { startMetricsServer } from './operations/metrics-server.js';
import { PROGRAM, VERSION, parseCommandLine, type ReceiveOptions } from './operations/options.js';
import { reserveReportSpace, writeReport, type ReportDraft, type WrittenReport } from './operations/report.js';
import { finalCode, logExit, stopStep } from './operations/shutdown.js';
import { printStatus, writeStatus, type ReceiverStatus } from './operations/status.js';
import { runVerify } from './operations/verify.js';
import { ChangeApplier } from './placement/change-applier.js';
import { DestTree } from './placement/dest-tree.js';
import { openMirrorIndex } from './operations/last-manifest.js';
import { SyncTracker } from './placement/sync-tracker.js';
import { Receiver } from './receiver.js';
import { StreamDelivery } from './streams/stream-delivery.js';

const STATUS_EVERY_MS = 1_000;
const QUARANTINE_CHECK_EVERY_MS = 3_600_000;

async function main(): Promise<void> {
  const command = await parseCommandLine(hideBin(process.argv));
  if (command.command === 'status') return printStatus(command.stateDir, command.json);
  if (command.command === 'verify') {
    process.exitCode = await runVerify(command.dest, command.stateDir, command.json);
    return;
  }
  await receive(command.options);
}

/** Wires the stages (receiver.ts), the transport and the operations around them, and runs until told to stop. */
async function receive(o: ReceiveOptions): Promise<void> {
  const { listen, dest, stateDir } = o;
  if (o.legacyState) log('state-legacy', { state: stateDir, detail: 'the state directory at the old default location (beside dest) stays in use' });
  for (const ignored of o.ignored) log('option-ignored', { ...ignored });
  const tree = new DestTree(dest);
  const changes = new ChangeApplier(tree, path.join(stateDir, 'quarantine'), o.applyDeletes, o.quarantineDays);
  every(QUARANTINE_CHECK_EVERY_MS, () => void changes.expireQuarantine(), { now: true });
  // What the sender announces and what the mirror holds, on disk: memory stays flat in the tree size.
  const sync = new SyncTracker(tree, o.portableNames, openMirrorIndex(stateDir));
  await removeStaleJsonTemps(stateDir);
  await reserveReportSpace(stateDir);
  const streams = parseOrUsage(() => new StreamDelivery(o.deliver));
  const watchdog = new LinkWatchdog((event, detail) => log(event, detail), o.onAlert);
  let exiting = false;
  const exitOnce = (code: number, reason: string) => {
    if (exiting) return;
    exiting = true;
    setImmediate(() => void shutdown(code, reason));
  };
  // Waiting would change nothing once every file still missing is refused for its name: looked at
  // after each manifest and, as placements finish after it, once a second while the count moves.
  let refusedCheckedAt = -1;
  const exitIfOnlyRefused = (force = false) => {
    if (!o.exitWhenSynced || (!force && sync.pendingCount === refusedCheckedAt)) return;
    refusedCheckedAt = sync.pendingCount;
    if (sync.onlyRefusedLeft) exitOnce(2, 'refused');
  };
  const receiver = new Receiver(
    {
      stateDir, maxBuffer: o.maxBuffer, maxPartials: o.workers, partialTtlMs: o.partialTtlMs,
      onSynced: () => o.exitWhenSynced && exitOnce(0, 'synced'),
      onManifest: () => {
        saveReportSoon();
        exitIfOnlyRefused(true);
      },
      onHeartbeat: (sessionId, hb) => {
        log('heartbeat', { session: sessionId.toString(16), host: hb.host });
        watchdog.heartbeat(sessionId, hb.intervalMs, hb.host);
      },
      onStream: (senderSession, record, raw) => streams.take(senderSession, record, raw),
      changes, keys: o.keys, requireEncryption: o.encrypt, portableNames: o.portableNames,
      limits: new ResourceLimits(o.limits, [dest, stateDir]),
    },
    tree,
    sync,
  );
  sync.onLost = (lost) => receiver.forgetCompleted(lost);
  await receiver.init();
  const links = new ListenLinks(o.links, receiver, watchdog, o.onAlert);

  const status = (running: boolean): ReceiverStatus => ({
    updatedAt: new Date().toISOString(), pid: process.pid, running, listen, dest,
    counters: receiver.counters, framesLost: receiver.sequences.lost, partialFiles: receiver.partialCount,
    bufferedBytes: receiver.budget.held, synced: sync.synced, missing: sync.pendingCount, link: watchdog.state,
    lastHeartbeat: watchdog.lastHeartbeat ? new Date(watchdog.lastHeartbeat).toISOString() : null,
    links: links.statuses(),
    streams: streams.status(),
  });
  const drawReport = async (): Promise<ReportDraft> => ({ ...(await sync.report()), partial: receiver.partialSummary(), expired: receiver.expired });
  // A manifest comes in pieces: one report at a time, and one more after it if pieces came meanwhile.
  // A report of a large tree walks the mirror, so reports take at most 2% of the time (<= 5 min apart).
  let saving: Promise<void> | undefined;
  let saveAgain = false;
  const saveReportSoon = (): void => {
    if (saving) return void (saveAgain = true);
    const started = performance.now();
    saving = writeReport(stateDir, drawReport).then(() => undefined, () => undefined)
      .then(() => new Promise<void>((resolve) => setTimeout(resolve, Math.min(300_000, 49 * (performance.now() - started))).unref()))
      .finally(() => {
        saving = undefined;
        if (saveAgain && !exiting) {
          saveAgain = false;
          saveReportSoon();
        }
      });
  };

  // A link that fails or ends leaves the others running; the run ends with the last (as with one).
  const gone = new Set<string>();
  const several = o.links.length > 1;
  const sources = await links.open(o, (link) => ({
    failed: (err) => {
      log('reader-failed', { ...(several && { link: link.name }), error: err.message });
      gone.add(link.name);
      if (gone.size === o.links.length) exitOnce(1, 'reader failed');
    },
    connection: (state, detail) => log(state, { ...(several && { link: link.name }), detail }),
    ended: async () => {
      gone.add(link.name);
      if (gone.size < o.links.length) return log('link-ended', { link: link.name });
      await receiver.settle();
      await sync.settle();
      exitOnce(sync.synced ? 0 : 2, 'end of input');
    },
  }));
  const source = sources[0]!.source;
  const metrics = o.metrics && await startMetricsServer(o.metrics.host, o.metrics.port, () => status(true)).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot serve metrics on ${o.metrics!.text}: ${err.code ?? err.message}`);
  });
  if (several) for (const { link, source: s } of sources) log('link-listening', { link: link.name, on: link.spec.url, port: s.port, io: s.io ?? 'stream', ...(s.gro && { gro: s.gro }) });
  log('listening', {
    version: VERSION, on: listen, port: source.port, dest, state: stateDir, metricsPort: metrics?.port, keys: o.keys.length, encrypt: o.encrypt,
    io: source.io ?? 'stream', ...(source.gro && { gro: source.gro }), native: nativeIo.available ? 'addon' : `fallback (${nativeIo.reason})`,
    writeback: writebackPath, crc: crcPath,
  });
  for (const c of o.deliver) log('delivering', { channel: c.name, to: c.text.slice(c.name.length + 1) });
  // Linux grants at most net.core.rmem_max (and reports twice what it grants): say so, rather than run on less in silence.
  for (const { link, source: s } of sources) {
    if (s.receiveBufferBytes !== undefined && s.receiveBufferBytes / 2 < o.rcvbuf) {
      log('rcvbuf-capped', { ...(several && { link: link.name }), asked: o.rcvbuf, granted: s.receiveBufferBytes / 2, sysctl: 'net.core.rmem_max', hint: `the kernel caps it at net.core.rmem_max: raise it (sysctl -w net.core.rmem_max=${o.rcvbuf}) for a bigger socket buffer; the reader thread still holds --rcvbuf` });
    }
  }
  const statusTimer = every(STATUS_EVERY_MS, () => {
    void writeStatus(stateDir, status(true)).catch(() => undefined);
    exitIfOnlyRefused();
  }, { keepAlive: true });

  /**
   * Stops in order and always ends with the report and the exit line: a step that fails (a full
   * disk) is logged and the others still run. An incomplete mirror never exits 0 or 1.
   */
  async function shutdown(code: number, reason: string): Promise<void> {
    statusTimer.stop();
    watchdog.stop();
    links.stopWatchdogs();
    await stopStep('close source', () => links.close());
    await stopStep('close metrics', async () => metrics?.close());
    await stopStep('close stream outlets', () => streams.stop());
    await stopStep('checkpoint partial files', () => receiver.close());
    await stopStep('write status', () => writeStatus(stateDir, status(false)));
    let report: WrittenReport | undefined;
    await stopStep('write report', async () => (report = await writeReport(stateDir, drawReport, true)));
    code = finalCode(code, report, sync.synced);
    logExit(reason, code, { report, synced: sync.synced, counters: receiver.counters, framesLost: receiver.sequences.lost, partial: receiver.partialCount });
    process.exit(code);
  }

  if (o.exitWhenSynced && o.timeoutSeconds > 0) {
    setTimeout(() => exitOnce(2, 'timeout'), o.timeoutSeconds * 1000).unref();
  }
  // A job that waits for sync and is stopped first did not sync: 2. A service stopped by its manager: 0.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => exitOnce(o.exitWhenSynced && !sync.synced ? 2 : 0, signal));
}

runMain(PROGRAM, main);
