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
import { DirWatcher } from './inventory/dir-watcher.js';
import type { InventoryOptions } from './inventory/inventory.js';
import { ManifestIds } from './inventory/object-ids.js';
import { LedgerManifestSource } from './ledger/manifest-source.js';
import { Schedule, type ScheduleOptions } from './ledger/schedule.js';
import { SendRecorder } from './ledger/send-recorder.js';
import { TreeSync, type SyncOutcome } from './ledger/tree-sync.js';
import type { Ledger, LedgerVersion } from './ledger/store.js';
import { versionOfRow, type Version } from './ledger/version.js';
import { POLL_FALLBACK_MS, WalkPacer, WalkStopped } from './inventory/walk-pacer.js';
import { log } from './log.js';
import { emptyStats, type SenderStats } from './stats.js';

export type { SenderStats } from './stats.js';

/*
 * The sender, one cycle after another (--once: until every version went R times; else for ever):
 *
 *   inventory/            ledger/                framing/                  transport/
 *   walk (byte order),    the tree's versions;   read + hash, FEC blocks,  rate limiter,
 *   events, settle,       what is due (SQL, in   interleave, frame;        UDP, TCP, stdout
 *   renames and deletes ► pages), the sends ──►  manifest, changes    ──►
 *
 * No version is held in memory but those being sent: the ledger is the inventory.
 *
 * Beside the cycle, on its own timer, the heartbeat. This file only wires the stages together.
 */

/** Every option of the sender, each stage's beside the stage; these are the loops'. */
export interface SenderConfig extends InventoryOptions, ScheduleOptions, FramingOptions {
  heartbeatMs: number;
  /** Watch mode: time between full walks of the tree (each paced over most of it); events cover the time between. */
  rescanMs: number;
  /** Watch mode: a manifest at least this often, so a restarted or repaired receiver learns the tree again. */
  manifestIntervalMs: number;
  /** This session's start (ms), later than any earlier session's: heartbeats carry it, and receivers follow the latest. */
  startedAt?: number;
}

/** Watch mode: events for a path are looked at this long after the first, so a burst is one look. */
const EVENT_DEBOUNCE_MS = 200;
/** Watch mode: the ledger is asked what is due at least this often, so a `ledger reset` made meanwhile takes effect. */
const LEDGER_CHECK_MS = 10_000;

export class Sender {
  readonly stats: SenderStats = emptyStats();
  /**
   * Versions that changed while being sent (ledger id -> the hash the receiver may hold, which
   * the ledger forgets): not sent again until the path is looked at again (so a file still being
   * written is not sent again as its old self), and if the path is gone by then its delete (or
   * rename) still names the hash. Bounded by the files that change during their send.
   */
  private changedAway = new Map<number, { path: string; sha256: Buffer | undefined }>();
  private readonly manifestIds = new ManifestIds();
  private readonly tree: TreeSync;
  private readonly manifestSource: LedgerManifestSource;
  private readonly schedule: Schedule;
  private readonly recorder: SendRecorder;
  private readonly passes: ObjectPasses;
  private readonly files: FileFramer<Version>;
  private readonly manifests: ManifestSender;
  private readonly changes: ChangeAnnouncer;
  private readonly heartbeats: HeartbeatTimer;
  private readonly alarm: Alarm;

  constructor(
    private readonly config: SenderConfig,
    private readonly emitter: FrameEmitter,
    private readonly ledger: Ledger,
    private readonly signal: AbortSignal,
  ) {
    // Statuses by this run's R; versions unreadable last time are tried again.
    ledger.settleStatuses(config.redundancy);
    this.tree = new TreeSync(config, ledger, config.redundancy, this.stats, (id) => this.changedAway.get(id)?.sha256);
    this.manifestSource = new LedgerManifestSource(ledger, () => this.tree.dirs);
    this.schedule = new Schedule(config, ledger, () => [...this.changedAway.keys()]);
    this.recorder = new SendRecorder(ledger, config.redundancy);
    this.passes = new ObjectPasses(emitter, config, signal, () => this.recorder.flush());
    this.files = new FileFramer(config, (v, sha256) => this.recorder.hashed(v, sha256));
    this.manifests = new ManifestSender(config);
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
        await this.walk();
        await this.sendDue();
        if (this.signal.aborted) break;
        // Not while files are still settling: a receiver waiting for --exit-when-synced would take
        // a manifest without them for the whole tree.
        if (this.tree.settlingUntil === undefined) await this.passes.run((out) => this.manifests.sendFull(out, this.manifestSource, () => this.manifestIds.fresh()));
        const next = this.nextDueAt();
        if (next === undefined) break;
        await this.alarm.sleepUntil(next);
      }
      await this.heartbeats.send();
      await this.emitter.flush();
    } finally {
      this.heartbeats.stop();
    }
    return this.schedule.failed();
  }

  /**
   * Keeps the mirror going. Events (one inotify watch per directory) name the paths that changed:
   * each is looked at alone, so a change goes out within --settle and a moment. A full walk, paced
   * over most of --rescan, catches what events missed and a reset made meanwhile. Without events
   * (--poll, or no inotify watches left) paced walks are the only source.
   */
  async watch(): Promise<void> {
    this.heartbeats.start();
    const events = this.config.pollMs === undefined ? new DirWatcher(this.config.source, () => this.alarm.wake()) : undefined;
    let watcher = events;
    const pacer = new WalkPacer(this.config.rescanMs, this.config.pollMs, this.signal);
    let walking: Promise<void> | undefined;
    let walkFailed: unknown;
    try {
      if (watcher) {
        this.tree.onDir = (d) => watcher?.add(d);
        this.tree.onDirGone = (d) => watcher?.remove(d);
        watcher.add('');
      }
      await this.walk();
      pacer.walked(this.tree.entriesLastWalk);
      watcher?.keepOnly(this.tree.dirs);
      if (!watcher?.unavailable) log('watch', { mode: watcher ? 'events' : 'poll', dirs: watcher?.size, rescanMs: this.config.pollMs ?? this.config.rescanMs });
      while (!this.signal.aborted) {
        if (watcher?.unavailable) {
          log('watch', { mode: 'poll', reason: watcher.unavailable, rescanMs: POLL_FALLBACK_MS });
          watcher = undefined;
          this.tree.onDir = () => undefined;
          pacer.fallBackToPolling();
        }
        const now = Date.now();
        const paths = this.tree.settlingDue(now);
        if (watcher && (watcher.dirtySince ?? Infinity) + EVENT_DEBOUNCE_MS <= now) paths.push(...watcher.takeDirty());
        if (paths.length > 0) this.applyChanges(await this.tree.syncPaths(paths), paths);
        if (watcher?.walkSoon) {
          watcher.walkSoon = false;
          pacer.walkSoon();
        }
        if (!walking && pacer.walkDue(Date.now())) {
          // In the background, a batch at a time between sends: the loop keeps answering events.
          pacer.started(Date.now());
          walking = this.walk((entries) => pacer.pace(entries))
            .then(() => {
              pacer.walked(this.tree.entriesLastWalk);
              if (watcher) watcher.keepOnly(this.tree.dirs);
            })
            .finally(() => {
              walking = undefined;
              this.alarm.wake();
            });
          walking.catch((err: unknown) => {
            if (!(err instanceof WalkStopped)) walkFailed = err; // thrown below, at the next turn
          });
        }
        const sent = await this.sendDue();
        // What went this turn, at once; the full manifest follows in pieces paced over --manifest-interval.
        if (sent > 0 && !this.signal.aborted) await this.passes.run((out) => this.manifests.sendDelta(out, () => this.manifestIds.fresh()));
        if (!this.signal.aborted) await this.sendManifestPieces();
        let next = Math.min(this.nextDueAt() ?? Infinity, this.manifests.nextPieceAt(this.config.manifestIntervalMs), Date.now() + LEDGER_CHECK_MS);
        if (!walking) next = Math.min(next, pacer.nextWalkAt);
        if (watcher?.dirtySince !== undefined) next = Math.min(next, watcher.dirtySince + EVENT_DEBOUNCE_MS);
        await this.alarm.sleepUntil(next, true);
        if (walkFailed !== undefined) throw walkFailed;
      }
      await this.emitter.flush();
    } finally {
      this.heartbeats.stop();
      pacer.stop();
      watcher?.close();
      events?.close();
      await walking?.catch(() => undefined);
    }
  }

  /**
   * A whole walk of the tree into the ledger. The ledger is the truth for sends done, so a reset
   * made by `diode-send ledger reset` meanwhile takes effect at the next due query.
   */
  private async walk(pace?: (entries: number) => Promise<void>): Promise<void> {
    const outcome = await this.tree.walk(pace);
    this.applyChanges(outcome, ['']);
  }

  /** Deletes and renames found by a walk or a look at some paths go out; versions looked at again may be sent again. */
  private applyChanges(outcome: SyncOutcome, paths?: readonly string[]): void {
    for (const { change } of outcome.changes) {
      this.changes.add(change);
      this.manifests.noteRemoved(change.path); // the next delta says so; the new path of a rename comes with the pieces
    }
    if (!paths) return;
    // Looked at again: sendable again, unless still being written (then it keeps waiting, without a wake-up).
    for (const [id, { path }] of this.changedAway) {
      const lookedAt = paths.some((p) => p === '' || path === p || path.startsWith(`${p}/`));
      if (lookedAt && !this.tree.stillWritten(path)) this.changedAway.delete(id);
    }
  }

  /** Ledger, then framing: the due versions in one pass (new versions first, a page at a time), then deletes and renames. */
  private async sendDue(): Promise<number> {
    const now = Date.now();
    const queue = this.schedule.queue(now);
    this.stats.queuedFiles = queue.files;
    this.stats.queuedBytes = queue.bytes;
    let sent = 0;
    if (queue.files > 0) {
      sent = await this.passes.run(async (out) => {
        let n = 0;
        for (const page of this.schedule.duePages(now)) {
          if (this.signal.aborted) break;
          n += await this.sendPage(out, page.filter((row) => !this.changedAway.has(row.id)));
        }
        return n;
      });
    }
    return sent + (await this.changes.sendDue(now, this.signal));
  }

  /** One page of due rows: each becomes a version (the file as it is now) only while it is sent. */
  private async sendPage(out: Interleaver, rows: readonly LedgerVersion[]): Promise<number> {
    const due: Version[] = [];
    for (const row of rows) {
      const v = versionOfRow(row, this.config.source);
      if (v === 'changed') this.changedUnder(row.id, row.path, row.totalSends > 0, row.sha256 ?? undefined);
      else due.push(v);
    }
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
    const known = v.sha256;
    const outcome = await this.files.send(out, v, v.sendsDone + 1, small);
    if (outcome === 'sent') {
      // Recorded once its last frames have left the interleaver, not when they were handed to it:
      // a kill meanwhile must not leave the ledger claiming a send that never reached the wire.
      out.whenSent(() => {
        this.stats.filesSent++;
        this.stats.fileBytesSent += v.file.size;
        this.recorder.sent(v);
        if (v.sha256) this.manifests.noteSent({ relPath: v.file.relPath, size: v.file.size, mtimeMs: v.file.mtimeMs, sha256: v.sha256 });
      });
      return true;
    }
    if (outcome === 'changed') {
      this.recorder.changed(v);
      this.changedUnder(v.id, v.file.relPath, v.everSent, known);
    }
    else if (outcome === 'failed') {
      this.recorder.failed(v);
      this.stats.failed++;
    }
    return false;
  }

  /** The file is no longer what its version says: not sent again until its path is looked at again. */
  private changedUnder(id: number, relPath: string, everSent: boolean, sha256: Buffer | undefined): void {
    this.stats.changedDuringSend++;
    log('file-changed', { path: printablePath(relPath) });
    this.changedAway.set(id, { path: relPath, sha256: everSent ? sha256 : undefined });
  }

  /** Watch mode: the manifest pieces due by now, paced over --manifest-interval. */
  private async sendManifestPieces(): Promise<void> {
    if (this.manifests.nextPieceAt(this.config.manifestIntervalMs) > Date.now()) return;
    await this.passes.run((out) => this.manifests.sendPiecesDue(out, this.manifestSource, () => this.manifestIds.fresh(), this.config.manifestIntervalMs));
  }

  private nextDueAt(): number | undefined {
    return this.schedule.nextDueAt(this.changes.pending, this.tree.settlingUntil);
  }

  /** What the heartbeat reports, read at each beat (SQL aggregates over an index of the versions still owed sends). */
  private counters(): HeartbeatCounters {
    const queueDepth = this.schedule.queue(Date.now()).files;
    return { filesSent: this.stats.filesSent, queueDepth, pass: this.manifests.cycle, passes: this.config.redundancy, nextPassAt: this.nextDueAt() ?? 0 };
  }
}
