import { printablePath } from '@diodesync/protocol';
import { Alarm } from './alarm.js';
import { ChangeAnnouncer } from './framing/change-announcer.js';
import { FileFramer } from './framing/file-framer.js';
import type { FrameEmitter } from './framing/frame-emitter.js';
import type { Interleaver } from './framing/interleaver.js';
import { ManifestSender } from './framing/manifest.js';
import { ObjectPasses } from './framing/object-pass.js';
import type { FramingOptions } from './framing/options.js';
import { ReadAhead, type SmallFile } from './framing/small-file-reader.js';
import { HeartbeatTimer, type HeartbeatCounters } from './heartbeat.js';
import { detectChanges } from './inventory/changes.js';
import { Inventory, type InventoryOptions } from './inventory/inventory.js';
import { ObjectIds } from './inventory/object-ids.js';
import { TreeWatcher } from './inventory/tree-watcher.js';
import { Schedule, type ScheduleOptions } from './ledger/schedule.js';
import { SendRecorder } from './ledger/send-recorder.js';
import type { Ledger } from './ledger/store.js';
import { adoptSends, versionsOf, type Version } from './ledger/version.js';
import { log } from './log.js';
import { VersionsManifestSource } from './versions-manifest-source.js';
import { emptyStats, type SenderStats } from './stats.js';

export type { SenderStats } from './stats.js';

/*
 * The sender, one cycle after another (--once: until every version went R times; else for ever):
 *
 *   inventory/            ledger/                framing/                  transport/
 *   scan, filter, settle  sync the scan, decide  read + hash, FEC blocks,  rate limiter,
 *   object ids, renames   what is due, record    interleave, frame;        UDP, TCP, stdout
 *   and deletes      ──►  the sends         ──►  manifest, changes    ──►
 *
 * Beside the cycle, on its own timer, the heartbeat. This file only wires the stages together.
 */

/** Every option of the sender, each stage's beside the stage; these are the loops'. */
export interface SenderConfig extends InventoryOptions, ScheduleOptions, FramingOptions {
  heartbeatMs: number;
  /** Watch mode: time between rescans of the tree. */
  rescanMs: number;
  /** Watch mode: a manifest at least this often, so a restarted or repaired receiver learns the tree again. */
  manifestIntervalMs: number;
  /** This session's start (ms), later than any earlier session's: heartbeats carry it, and receivers follow the latest. */
  startedAt?: number;
}

export class Sender {
  readonly stats: SenderStats = emptyStats();
  /** The current version of every path that may be sent. */
  private versions = new Map<string, Version>();
  /**
   * Versions that changed while being sent: out of `versions` (so a file still being written is
   * not sent again as its old self), but kept until the next scan, so that if the path is gone by
   * then its delete (or rename) is still announced: the receiver may hold an earlier send.
   */
  private changedAway = new Map<string, Version>();
  private readonly objectIds = new ObjectIds();
  private readonly inventory: Inventory;
  private readonly schedule: Schedule;
  private readonly recorder: SendRecorder;
  private readonly passes: ObjectPasses;
  private readonly files: FileFramer<Version>;
  private readonly manifests: ManifestSender;
  private readonly manifestSource: VersionsManifestSource;
  /** Watch mode: the tree changed since the last scan (the watcher said so). */
  private treeChanged = true;
  private readonly changes: ChangeAnnouncer;
  private readonly heartbeats: HeartbeatTimer;
  private readonly alarm: Alarm;

  constructor(
    private readonly config: SenderConfig,
    private readonly emitter: FrameEmitter,
    private readonly ledger: Ledger,
    private readonly signal: AbortSignal,
  ) {
    this.inventory = new Inventory(config, this.stats);
    this.schedule = new Schedule(config);
    this.recorder = new SendRecorder(ledger, config.redundancy);
    this.passes = new ObjectPasses(emitter, config, signal, () => this.recorder.flush());
    this.files = new FileFramer(config, (v, sha256) => this.recorder.hashed(v, sha256));
    this.manifests = new ManifestSender(config);
    this.manifestSource = new VersionsManifestSource(() => this.versions.values(), () => this.inventory.dirs);
    this.changes = new ChangeAnnouncer(emitter, this.schedule, this.stats);
    this.heartbeats = new HeartbeatTimer(emitter, config.heartbeatMs, config.startedAt ?? Date.now(), () => this.counters());
    this.alarm = new Alarm(signal);
  }

  /** Full manifest cycles begun so far (the metrics' passes). */
  get cycles(): number {
    return this.manifests.cycle;
  }

  /** Sends the tree until every version went out R times; returns the versions that could not be sent. */
  async runOnce(): Promise<number> {
    this.heartbeats.start();
    try {
      while (!this.signal.aborted) {
        await this.refresh();
        await this.sendDue();
        if (this.signal.aborted) break;
        // Not while files are still settling: a receiver waiting for --exit-when-synced would take
        // a manifest without them for the whole tree.
        if (this.inventory.settlingUntil === undefined) await this.passes.run((out) => this.manifests.sendFull(out, this.manifestSource, () => this.objectIds.fresh()));
        const next = this.nextDueAt();
        if (next === undefined) break;
        await this.alarm.sleepUntil(next);
      }
      await this.heartbeats.send();
      await this.emitter.flush();
    } finally {
      this.heartbeats.stop();
    }
    return this.schedule.failedAmong(this.versions.values());
  }

  /** Keeps the mirror going: rescans, sends what changed and what is due for another pass. */
  async watch(): Promise<void> {
    this.heartbeats.start();
    const watcher = new TreeWatcher(this.config.source, this.config.pollMs, () => {
      this.treeChanged = true;
      this.alarm.wake();
    });
    let nextScanAt = 0;
    try {
      while (!this.signal.aborted) {
        // A wake for a manifest piece alone needs no rescan.
        if (this.treeChanged || Date.now() >= nextScanAt || (this.nextDueAt() ?? Infinity) <= Date.now()) {
          this.treeChanged = false;
          await this.refresh();
          nextScanAt = Date.now() + this.config.rescanMs;
          const sent = await this.sendDue();
          // What went this cycle, at once; the full manifest follows in pieces over --manifest-interval.
          if (sent > 0 && !this.signal.aborted) await this.passes.run((out) => this.manifests.sendDelta(out, () => this.objectIds.fresh()));
        }
        if (!this.signal.aborted) await this.sendManifestPieces();
        const next = Math.min(this.nextDueAt() ?? Infinity, nextScanAt, this.manifests.nextPieceAt(this.config.manifestIntervalMs));
        await this.alarm.sleepUntil(next, true);
      }
      await this.emitter.flush();
    } finally {
      this.heartbeats.stop();
      await watcher.close();
    }
  }

  /**
   * Inventory, then ledger: rescans the tree and brings the ledger in line. The ledger is the truth
   * for sends done, so a reset made by `diode-send ledger reset` meanwhile takes effect here.
   */
  private async refresh(): Promise<void> {
    const files = await this.inventory.scan((relPath) => this.versions.get(relPath)?.file);
    const versions = versionsOf(files, this.ledger.sync(files, this.config.redundancy), this.objectIds);
    if (this.config.announceChanges) {
      const before = new Map(this.versions);
      for (const [path, v] of this.changedAway) if (!before.has(path) && !this.inventory.inTree(path)) before.set(path, v);
      for (const { change, from, to } of detectChanges(before, versions)) {
        if (to) adoptSends(this.ledger, to, from, this.config.redundancy);
        this.changes.add(change);
      }
    }
    // Paths the receiver may hold that are gone: the next manifest delta lists them removed.
    for (const [path, v] of this.versions) if (v.everSent && !versions.has(path)) this.manifests.noteRemoved(path);
    for (const [path, v] of this.changedAway) if (v.everSent && !versions.has(path)) this.manifests.noteRemoved(path);
    this.versions = versions;
    this.changedAway.clear();
    this.manifestSource.changed();
  }

  /** Ledger, then framing: the due versions in one pass (new versions first), then deletes and renames. */
  private async sendDue(): Promise<number> {
    const now = Date.now();
    const due = this.schedule.due(this.versions.values(), now);
    this.stats.queuedFiles = due.length;
    this.stats.queuedBytes = due.reduce((sum, v) => sum + v.file.size, 0);
    const sent = await this.passes.run((out) => this.sendVersions(out, due));
    return sent + (await this.changes.sendDue(now, this.signal));
  }

  private async sendVersions(out: Interleaver, due: Version[]): Promise<number> {
    let sent = 0;
    const readAhead = new ReadAhead(due.map((v) => v.file));
    for (const [i, v] of due.entries()) {
      if (this.signal.aborted) break;
      if (await this.sendVersion(out, v, readAhead.take(i))) sent++;
      this.stats.queuedFiles--;
      this.stats.queuedBytes -= v.file.size;
    }
    return sent;
  }

  /** Sends one version once; the ledger records it once the last frame is out. */
  private async sendVersion(out: Interleaver, v: Version, small: Promise<SmallFile> | undefined): Promise<boolean> {
    const outcome = await this.files.send(out, v, v.sendsDone + 1, small);
    if (outcome === 'sent') {
      // Recorded once its last frames have left the interleaver, not when they were handed to it:
      // a kill meanwhile must not leave the ledger claiming a send that never reached the wire.
      out.whenSent(() => {
        this.stats.filesSent++;
        this.stats.fileBytesSent += v.file.size;
        this.recorder.sent(v);
        if (v.sha256) this.manifests.noteSent({ relPath: v.file.relPath, size: v.file.size, mtimeMs: v.file.mtimeMs, sha256: v.sha256 });
        this.manifestSource.changed();
      });
      return true;
    }
    if (outcome === 'changed') {
      this.stats.changedDuringSend++;
      log('file-changed', { path: printablePath(v.file.relPath) });
      this.recorder.changed(v);
      this.versions.delete(v.file.relPath);
      if (v.everSent) this.changedAway.set(v.file.relPath, v);
    } else if (outcome === 'failed') {
      this.schedule.markFailed(v);
      this.recorder.failed(v);
      this.stats.failed++;
    }
    return false;
  }

  /** Watch mode: the manifest pieces due by now, paced over --manifest-interval. */
  private async sendManifestPieces(): Promise<void> {
    if (this.manifests.nextPieceAt(this.config.manifestIntervalMs) > Date.now()) return;
    await this.passes.run((out) => this.manifests.sendPiecesDue(out, this.manifestSource, () => this.objectIds.fresh(), this.config.manifestIntervalMs));
  }

  private nextDueAt(): number | undefined {
    return this.schedule.nextDueAt(this.versions.values(), this.changes.pending, this.inventory.settlingUntil);
  }

  /** What the heartbeat reports, read at each beat. */
  private counters(): HeartbeatCounters {
    const queueDepth = this.schedule.countDue(this.versions.values(), Date.now());
    return { filesSent: this.stats.filesSent, queueDepth, pass: this.manifests.cycle, passes: this.config.redundancy, nextPassAt: this.nextDueAt() ?? 0 };
  }
}
