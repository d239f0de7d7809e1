// Rows "million" (issue 18): a share of --tree-files files (default 1,000,000) of 0 to 4 KiB in
// 1,000 directories, mirrored by a watching sender (-R 1, --rate 20m by default, no --once) that then stays
// up, as a file server's sender does. In order, with the same sender throughout:
//   first send   receiver with --exit-when-synced: time to synced, files/s, peak RSS of each side
//                (VmHWM and sampled VmRSS from /proc), then `diode-receive verify DEST`
//   idle         nothing changes: the sender's CPU (utime + stime, every thread) over
//                --idle-seconds as % of one core, its RSS at the end
//   one change   one file rewritten: time until the mirror holds the new bytes (target --settle + 2 s)
//   restart      the receiver stopped, its mirror and state emptied, started again: time until its
//                status.json counts every file missing (target: one --manifest-interval)
// Only the CLIs, their options and their documented outputs (log lines, status.json, report.json)
// are used; a field that is not there is said in the row, not a crash.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { RECEIVE, SEND } from '../lib/context.mjs';
import { countFiles, fileTree, treeFilePath } from '../lib/file-tree.mjs';
import { startLongRun } from '../lib/long-run.mjs';
import { MemorySampler, cpuSeconds } from '../lib/proc-stats.mjs';
import { runCli, sleep } from '../lib/processes.mjs';

export const TARGET_RSS_MB = 250;
export const TARGET_IDLE_CPU_PCT = 2;
/** Before the idle window opens: the end of the first send's last cycle is not idleness. */
const IDLE_GRACE_MS = 5000;
/**
 * After the sender's manifest lists the whole tree, -R 1 sends nothing more: a receiver still short
 * of files this long after it never gets them (frames lost), so the wait ends there, not at --timeout.
 */
const AFTER_FULL_MANIFEST_MS = 60_000;

const fmt = (n) => n.toLocaleString('en');
const round = (x, digits = 1) => (typeof x === 'number' && Number.isFinite(x) ? Number(x.toFixed(digits)) : x);
const peakOf = (...xs) => {
  const finite = xs.filter((x) => typeof x === 'number' && Number.isFinite(x));
  return finite.length > 0 ? Math.max(...finite) : NaN;
};

export async function million(ctx, table) {
  const n = ctx.treeFiles;
  const label = `million (${fmt(n)} files)`;
  const result = { files: n, settleMs: ctx.settleMs, manifestIntervalS: ctx.manifestIntervalS, idleSeconds: ctx.idleSeconds, rate: ctx.treeRate };

  const tree = fileTree(ctx, n);
  result.tree = { seconds: round(tree.seconds, 2), bytes: tree.bytes, diskMB: round(tree.diskMB, 0), dirs: tree.dirs, reused: tree.reused };
  table.add({
    what: `${label}: tree made, 0-4 KiB in ${fmt(tree.dirs)} dirs`, figure: tree.reused ? 'reused (made by an earlier row)' : tree.seconds, unit: 's',
    note: `${(tree.bytes / 1e6).toFixed(0)} MB of data, ${tree.diskMB.toFixed(0)} MB on disk; seeded sizes and contents`,
  });
  // The sender holds back files younger than --settle: a tree just made would go in two cycles.
  if (!tree.reused) await sleep(ctx.settleMs + 200);

  const run = new Run(ctx, tree);
  try {
    await phase(table, `${label}: first send`, () => firstSend(run, table, label, result));
    await phase(table, `${label}: sender idle CPU`, () => idle(run, table, label, result));
    await phase(table, `${label}: one changed file`, () => oneChange(run, table, label, result));
    await phase(table, `${label}: restarted empty receiver`, () => restart(run, table, label, result));
  } finally {
    await run.close();
  }
  console.log(`${label} result: ${JSON.stringify(result)}`);
  return result;
}

/** A phase that throws still leaves a row (`failed (why)`), and the next phase runs. */
async function phase(table, what, fn) {
  try {
    await fn();
  } catch (err) {
    table.add({ what, figure: `failed (${String(err.message).split('\n')[0]})`, unit: '' });
  }
}

/** The processes and directories the phases share; `close` kills and removes them. */
class Run {
  port = 0;
  sender;
  senderMemory;
  receiver;
  receiverMemory;
  dirs = [];
  synced = false;

  constructor(ctx, tree) {
    this.ctx = ctx;
    this.tree = tree;
    this.senderState = this.scratch('sender-state');
  }

  scratch(name) {
    const dir = path.join(this.ctx.work, `million-${name}-${this.ctx.nextId()}`);
    this.dirs.push(dir);
    return dir;
  }

  /** A receiver into `dest` with state `state` on the run's port (port 0 the first time: the port it gets is kept). */
  async startReceiver(dest, state, extra = []) {
    const r = startLongRun(this.ctx, RECEIVE, [dest, '--listen', `udp://127.0.0.1:${this.port}`, '--state', state, ...extra]);
    const listening = await r.waitFor('listening', 60_000);
    if (this.port === 0) {
      if (typeof listening.port !== 'number') throw new Error(`the receiver's listening line has no port: ${JSON.stringify(listening)}`);
      this.port = listening.port;
    }
    this.receiver = r;
    this.receiverMemory?.stop();
    this.receiverMemory = new MemorySampler(r.pid);
    return r;
  }

  startSender() {
    const { ctx } = this;
    this.sender = startLongRun(ctx, SEND, [
      this.tree.dir, '--to', `udp://127.0.0.1:${this.port}`, '-R', '1', '--rate', ctx.treeRate,
      '--settle', String(ctx.settleMs), '--manifest-interval', String(ctx.manifestIntervalS), '--state', this.senderState,
    ]);
    this.senderMemory = new MemorySampler(this.sender.pid);
    return this.sender;
  }

  /**
   * The sender's manifest-sent line that lists the whole tree (it has sent every file once), if it
   * logged one; a sender that logs its manifests otherwise (in pieces) is known done by the sync only.
   */
  fullManifest() {
    const m = this.sender?.last('manifest-sent');
    return typeof m?.files === 'number' && m.files >= this.tree.count ? m : undefined;
  }

  /** Idle, a change and a restart mean nothing while the sender is still busy with the first send. */
  firstSendDone() {
    if (!this.synced && !this.fullManifest()) throw new Error('not measured: the sender had not sent the whole tree');
  }

  /** Throws with the sender's last lines if it is no longer running. */
  senderAlive() {
    if (!this.sender?.running()) throw new Error(`the sender is not running: ${this.sender?.tail() ?? 'never started'}`);
  }

  async stopReceiver() {
    if (!this.receiver) return undefined;
    const r = this.receiver;
    this.receiver = undefined;
    this.receiverMemory?.stop();
    return r.stop();
  }

  async close() {
    this.senderMemory?.stop();
    await Promise.all([this.stopReceiver(), this.sender?.stop()]);
    if (!this.ctx.keep) for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
  }
}

async function firstSend(run, table, label, result) {
  const { ctx, tree } = run;
  const n = tree.count;
  // Generous: a million files at today's pace is many minutes; the receiver's own --timeout ends it
  // with its report, so a slow run still says how far it got.
  const timeoutS = ctx.sendTimeoutS ?? Math.max(120, Math.ceil(n / 100));
  run.dest = run.scratch('mirror');
  run.receiverState = run.scratch('receiver-state');
  const receiver = await run.startReceiver(run.dest, run.receiverState, ['--exit-when-synced', '--timeout', String(timeoutS)]);
  const started = performance.now();
  const startedAt = Date.now();
  const sender = run.startSender();
  const deadline = started + timeoutS * 1000 + 60_000;
  let exit;
  let overLimit;
  let gaveUp = false;
  let fullManifestSeen;
  while (!exit && performance.now() < deadline) {
    exit = await receiver.exitWithin(1000);
    if (exit) break;
    const both = (run.senderMemory.read().lastRssMB || 0) + (run.receiverMemory.read().lastRssMB || 0);
    if (both > ctx.rssLimitMB) {
      overLimit = both;
      break;
    }
    if (run.fullManifest()) fullManifestSeen ??= performance.now();
    if (fullManifestSeen && performance.now() - fullManifestSeen > AFTER_FULL_MANIFEST_MS) {
      gaveUp = true;
      break;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const s = run.senderMemory.read();
  const r = run.receiverMemory.read();
  // Stopped (SIGTERM) rather than killed: the receiver still writes its report and exit line.
  if (overLimit || gaveUp) exit = await receiver.stop(60_000);
  const full = run.fullManifest();
  const senderDoneS = typeof full?.time === 'string' ? (Date.parse(full.time) - startedAt) / 1000 : undefined;
  run.receiverMemory.stop();
  if (!exit) await receiver.stop(60_000);
  run.synced = exit?.code === 0;
  const exitLine = receiver.last('exit');
  const synced = exit?.code === 0;
  const inMirror = countFiles(run.dest);
  const senderPeak = peakOf(s.hwmMB, s.maxRssMB);
  const receiverPeak = peakOf(r.hwmMB, r.maxRssMB, exit?.measure?.maxRssMB);
  result.firstSend = {
    seconds: round(seconds, 1), synced, senderFullManifestAfterS: round(senderDoneS, 1), gaveUpAfterFullManifest: gaveUp, stoppedAtRssMB: overLimit === undefined ? undefined : round(overLimit, 0), timeoutS, receiverCode: exit?.code ?? null, reason: exitLine?.reason ?? null, filesInMirror: inMirror,
    receiverFilesCompleted: exitLine?.files ?? null, framesLost: exitLine?.framesLost ?? null, senderFilesSentLines: sender.count('file-sent'),
    sender: { hwmMB: round(s.hwmMB), maxRssSampleMB: round(s.maxRssMB), samples: s.samples },
    receiver: { hwmMB: round(r.hwmMB), maxRssSampleMB: round(r.maxRssMB), maxRssAtExitMB: round(exit?.measure?.maxRssMB), cpuSeconds: round(exit?.measure?.cpuSeconds), samples: r.samples },
  };
  const how = synced
    ? `${seconds.toFixed(1)} s from the sender's start to the receiver's synced exit`
    : gaveUp ? `NOT synced: ${AFTER_FULL_MANIFEST_MS / 1000} s after the sender's manifest of the whole tree (at ${senderDoneS?.toFixed(0)} s) ${fmt(inMirror)} of ${fmt(n)} files in DEST (receiver: ${exitLine?.framesLost ?? '?'} frames lost, queue overflow ${exitLine?.queueOverflow ?? '?'}, ${exitLine?.partial ?? '?'} partial files)`
    : overLimit ? `NOT synced: stopped after ${seconds.toFixed(0)} s, both sides holding ${overLimit.toFixed(0)} MB (--rss-limit ${ctx.rssLimitMB}), ${fmt(inMirror)} of ${fmt(n)} files in DEST`
    : `NOT synced: receiver ${exit ? `exit ${exit.code ?? exit.signal} (${exitLine?.reason ?? 'no exit line'}, ${exitLine?.partial ?? '?'} partial files)` : 'still running, stopped'} after ${seconds.toFixed(0)} s, ${fmt(inMirror)} of ${fmt(n)} files in DEST`;
  table.add({
    what: `${label}: first send, watching sender -R 1 --rate ${ctx.treeRate}`, figure: synced ? n / seconds : `not synced (${fmt(inMirror)} of ${fmt(n)} files in DEST after ${seconds.toFixed(0)} s)`, unit: 'files/s',
    senderRssMB: senderPeak, receiverRssMB: receiverPeak,
    note: `${how}; ${fmt(inMirror)} files in DEST; sender's manifest of the whole tree ${senderDoneS === undefined ? 'not logged' : `at ${senderDoneS.toFixed(1)} s (${(n / senderDoneS).toFixed(0)} files/s sent)`}; machine shared`,
  });
  for (const [side, peak, m] of [['sender', senderPeak, s], ['receiver', receiverPeak, r]]) {
    table.add({
      what: `${label}: ${side} peak RSS, first send`, figure: Number.isFinite(peak) ? peak : 'not measured (no /proc sample)', unit: 'MB', target: { value: TARGET_RSS_MB, atMost: true },
      [`${side}RssMB`]: peak, note: `VmHWM ${round(m.hwmMB, 0)} MB, largest of ${m.samples} VmRSS samples ${round(m.maxRssMB, 0)} MB${synced ? '' : '; the send did not finish'}`,
    });
  }

  // verify: the mirror against the last manifest the receiver kept (exit 0 when they match).
  const verifyStarted = performance.now();
  const v = runCli(ctx, RECEIVE, ['verify', run.dest, '--state', run.receiverState]);
  const ve = await v.stopWithin(Math.max(120_000, n * 2));
  const verifySeconds = (performance.now() - verifyStarted) / 1000;
  const verifyTail = ve.stderr.trim().split('\n').slice(-1)[0] ?? '';
  result.verify = { code: ve.code, seconds: round(verifySeconds, 1), maxRssMB: round(ve.measure.maxRssMB), cpuSeconds: round(ve.measure.cpuSeconds, 1), error: ve.code === 0 ? undefined : verifyTail.slice(0, 300) };
  table.add({
    what: `${label}: diode-receive verify DEST`, figure: verifySeconds, unit: 's',
    receiverRssMB: ve.measure.maxRssMB,
    note: `exit ${ve.code ?? ve.signal}${ve.code === 0 ? ' (matches)' : ve.code === 2 ? ' (differs)' : ` (${verifyTail.slice(0, 120)})`}; CPU ${round(ve.measure.cpuSeconds, 1)} s`,
  });
}

async function idle(run, table, label, result) {
  const { ctx } = run;
  run.firstSendDone();
  run.senderAlive();
  // A receiver for the manifests to go to (same mirror and state); the sender's cost needs none.
  if (!run.receiver?.running()) await run.startReceiver(run.dest, run.receiverState);
  await sleep(IDLE_GRACE_MS);
  run.senderAlive();
  run.senderMemory.reset();
  const pid = run.sender.pid;
  const cpu0 = cpuSeconds(pid);
  const receiverCpu0 = cpuSeconds(run.receiver.pid);
  const t0 = performance.now();
  await sleep(ctx.idleSeconds * 1000);
  const cpu1 = cpuSeconds(pid);
  const receiverCpu1 = cpuSeconds(run.receiver.pid);
  const wall = (performance.now() - t0) / 1000;
  run.senderAlive();
  const m = run.senderMemory.read();
  const pct = (100 * (cpu1 - cpu0)) / wall;
  const receiverPct = (100 * (receiverCpu1 - receiverCpu0)) / wall;
  const r = run.receiverMemory.read();
  result.idle = {
    seconds: round(wall, 1), senderCpuPct: round(pct, 2), senderCpuSeconds: round(cpu1 - cpu0, 2), receiverCpuPct: round(receiverPct, 2),
    senderRssEndMB: round(m.lastRssMB), senderMaxRssMB: round(m.maxRssMB), senderHwmMB: round(m.hwmMB), receiverRssEndMB: round(r.lastRssMB),
    manifestsSent: run.sender.count('manifest-sent'),
  };
  table.add({
    what: `${label}: sender idle CPU, watching, nothing changes`, figure: pct, unit: '% of a core', target: { value: TARGET_IDLE_CPU_PCT, atMost: true },
    senderRssMB: m.lastRssMB, receiverRssMB: r.lastRssMB,
    note: `utime+stime over ${wall.toFixed(0)} s (${(cpu1 - cpu0).toFixed(1)} s CPU); receiver ${round(receiverPct, 2)} %; per-process CPU time, the machine shared`,
  });
  table.add({
    what: `${label}: sender RSS after idle`, figure: m.lastRssMB, unit: 'MB', target: { value: TARGET_RSS_MB, atMost: true },
    senderRssMB: m.lastRssMB, receiverRssMB: r.lastRssMB,
    note: `largest sample in the idle window ${round(m.maxRssMB, 0)} MB, VmHWM since start ${round(m.hwmMB, 0)} MB; receiver ${round(r.lastRssMB, 0)} MB`,
  });
}

async function oneChange(run, table, label, result) {
  const { ctx, tree } = run;
  run.firstSendDone();
  run.senderAlive();
  if (!run.receiver?.running()) await run.startReceiver(run.dest, run.receiverState);
  const rel = treeFilePath(tree.count, Math.floor(tree.count / 2));
  const content = Buffer.from(`changed by the bench at ${new Date().toISOString()}\n`.repeat(20));
  const target = ctx.settleMs / 1000 + 2;
  const limitMs = Math.max(300_000, target * 10_000);
  const started = performance.now();
  writeFileSync(path.join(tree.dir, rel), content);
  const mirrored = path.join(run.dest, rel);
  let arrived = false;
  while (performance.now() - started < limitMs) {
    try {
      if (readFileSync(mirrored).equals(content)) {
        arrived = true;
        break;
      }
    } catch { /* not there (yet) */ }
    await sleep(25);
  }
  const seconds = (performance.now() - started) / 1000;
  // Whether the receiver could take a new file at all: its partial files hold its --workers slots.
  const status = readJson(path.join(run.receiverState, 'status.json'));
  const receiverSide = status ? `receiver: ${status.partialFiles ?? '?'} partial files, tooManyPartials ${status.counters?.tooManyPartials ?? '?'}` : 'no receiver status.json';
  result.oneChange = { path: rel, arrived, seconds: round(seconds, 2), targetSeconds: target, receiverPartialFiles: status?.partialFiles ?? null, receiverTooManyPartials: status?.counters?.tooManyPartials ?? null };
  table.add({
    what: `${label}: one changed file in the mirror`, figure: arrived ? seconds : `not arrived within ${(limitMs / 1000).toFixed(0)} s (${receiverSide})`, unit: 's',
    target: { value: target, atMost: true }, note: `--settle ${ctx.settleMs} ms; from the write to the new bytes in DEST (polled every 25 ms); ${receiverSide}`,
  });
}

async function restart(run, table, label, result) {
  const { ctx, tree } = run;
  const n = tree.count;
  run.firstSendDone();
  run.senderAlive();
  await run.stopReceiver();
  // An empty mirror and an empty state, as a receiver rebuilt from scratch (the old mirror is removed after).
  const dest = run.scratch('mirror-restarted');
  const state = run.scratch('receiver-state-restarted');
  mkdirSync(dest, { recursive: true });
  const receiver = await run.startReceiver(dest, state);
  const started = performance.now();
  // The sender stretches a cycle whose pieces take more than 1% of a core to build, and says so.
  const cycleS = run.sender.last('manifest-interval-stretched')?.seconds ?? ctx.manifestIntervalS;
  const limitMs = (cycleS * 2 + 60) * 1000;
  let missing;
  let source = 'status.json';
  let lastReportRead = 0;
  let inMirror = 0;
  while (performance.now() - started < limitMs && receiver.running()) {
    let found = readMissing(path.join(state, 'status.json'), 'status');
    let from = 'status.json';
    if (found === undefined && performance.now() - lastReportRead > 5000) {
      // status.json without a missing count: report.json lists them (large: read it seldom).
      lastReportRead = performance.now();
      found = readMissing(path.join(state, 'report.json'), 'report');
      from = 'report.json';
    }
    if (found !== undefined) [missing, source] = [found, from];
    // Every file it lacks: a file sent meanwhile (a change) may already be in the new mirror.
    if (missing !== undefined && missing > 0 && missing >= n - (inMirror = countFiles(dest))) break;
    await sleep(250);
  }
  const seconds = (performance.now() - started) / 1000;
  const learned = missing !== undefined && missing > 0 && missing >= n - inMirror;
  const m = run.receiverMemory.read();
  const lastManifest = run.sender.last('manifest-sent');
  result.restart = {
    learned, seconds: round(seconds, 1), cycleSeconds: cycleS, missing: missing ?? null, inNewMirror: inMirror, source, receiverHwmMB: round(m.hwmMB), receiverMaxRssMB: round(m.maxRssMB),
    manifestLine: receiver.last('manifest') ?? null, senderManifestsSent: run.sender.count('manifest-sent'), senderLastManifest: lastManifest ?? null,
  };
  const why = missing === undefined ? 'neither status.json nor report.json gave a missing count' : `${fmt(missing)} of ${fmt(n)} missing, ${fmt(inMirror)} in the new mirror`;
  table.add({
    what: `${label}: restarted empty receiver counts every file missing`, figure: learned ? seconds : `not within ${(limitMs / 1000).toFixed(0)} s (${why})`, unit: 's',
    target: { value: cycleS, atMost: true }, receiverRssMB: peakOf(m.hwmMB, m.maxRssMB),
    note: `--manifest-interval ${ctx.manifestIntervalS}${cycleS !== ctx.manifestIntervalS ? `, stretched by the sender to ${cycleS} s` : ''}; from the receiver's listening line to ${source}'s missing = every file not in the new mirror (${fmt(inMirror)} there); receiver VmHWM ${round(m.hwmMB, 0)} MB`,
  });
  // The first mirror is not needed any more: free its million inodes before the run ends.
  if (!ctx.keep && run.dest) rmSync(run.dest, { recursive: true, force: true });
}

/** A JSON file a CLI wrote, or undefined if it is not there (yet) or not JSON. */
function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The missing count a receiver wrote: status.json's `missing` (a number) or report.json's `missing` (a list); undefined if not there. */
function readMissing(file, kind) {
  if (!existsSync(file)) return undefined;
  try {
    const json = JSON.parse(readFileSync(file, 'utf8'));
    const missing = json?.missing;
    if (kind === 'status') return typeof missing === 'number' ? missing : undefined;
    return Array.isArray(missing) ? missing.length : typeof missing === 'number' ? missing : undefined;
  } catch {
    return undefined; // written atomically, but a reader may still race a rename on some file systems
  }
}
