import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  FrameType, chunkCountFor, encodeChange, encodeManifest, printablePath,
  type Change, type FecLayout, type Heartbeat, type ObjectHeader,
} from '@diodesync/protocol';
import { hashFile } from './framing/file-hash.js';
import { HeartbeatTimer, type HeartbeatCounters } from './heartbeat.js';
import type { FrameEmitter } from './framing/frame-emitter.js';
import { Schedule, type ScheduleOptions } from './ledger/schedule.js';
import { SendRecorder } from './ledger/send-recorder.js';
import type { Ledger } from './ledger/store.js';
import { adoptSends, versionsOf, type Version } from './ledger/version.js';
import { log } from './log.js';
import { Interleaver, SendStopped } from './framing/interleaver.js';
import { sendFile, sendObject } from './framing/object-sender.js';
import { detectChanges } from './inventory/changes.js';
import { Inventory, type InventoryOptions } from './inventory/inventory.js';
import { ObjectIds } from './inventory/object-ids.js';
import { ReadAhead, type SmallFile } from './framing/small-file-reader.js';
import { TransportError } from './transport/frame-sink.js';
import { TreeWatcher } from './inventory/tree-watcher.js';

export interface SenderConfig extends InventoryOptions, ScheduleOptions {
  chunkSize: number;
  /** FEC layout of every object sent (k = 0: none). */
  fec: FecLayout;
  /** FEC blocks interleaved on the wire: a burst of up to this many lost frames costs each block one. */
  interleave: number;
  heartbeatMs: number;
  /** Watch mode: time between rescans of the tree. */
  rescanMs: number;
  /** Watch mode: a manifest at least this often, so a restarted or repaired receiver learns the tree again. */
  manifestIntervalMs: number;
  /** This session's start (ms), later than any earlier session's: heartbeats carry it, and receivers follow the latest. */
  startedAt?: number;
}

/** A delete or rename announced R times, like a file version. */
interface PendingChange {
  change: Change;
  sends: number;
  lastSentAt: number;
}

export interface SenderStats {
  filesSent: number;
  fileBytesSent: number;
  changedDuringSend: number;
  failed: number;
  /** What the current cycle still has to send (progress and ETA). */
  queuedFiles: number;
  queuedBytes: number;
  changesAnnounced: number;
  /** Entries of the last scan left out (special files, symlinks, excluded names, unreadable entries). */
  skipped: number;
  /** Of those, entries that could not be read: the tree was not sent whole. */
  unreadable: number;
}

/**
 * The scheduler: keeps the versions of the tree, sends what is due (new versions first,
 * redundancy passes after), and a manifest after each cycle.
 */
export class Sender {
  readonly stats: SenderStats = {
    filesSent: 0, fileBytesSent: 0, changedDuringSend: 0, failed: 0, queuedFiles: 0, queuedBytes: 0, changesAnnounced: 0, skipped: 0, unreadable: 0,
  };
  private versions = new Map<string, Version>();
  private readonly inventory: Inventory;
  private readonly objectIds = new ObjectIds();
  private readonly schedule: Schedule;
  private readonly recorder: SendRecorder;
  private lastManifestAt = 0;
  private cycle = 0;
  private readonly heartbeats: HeartbeatTimer;
  private changes: PendingChange[] = [];
  /** Ends the current wait early: the tree changed. */
  private wake: (() => void) | undefined;
  private readonly interleaver: Interleaver;

  constructor(
    private readonly config: SenderConfig,
    private readonly emitter: FrameEmitter,
    private readonly ledger: Ledger,
    private readonly signal: AbortSignal,
  ) {
    this.inventory = new Inventory(config, this.stats);
    this.schedule = new Schedule(config);
    this.recorder = new SendRecorder(ledger, config.redundancy);
    this.heartbeats = new HeartbeatTimer(emitter, config.heartbeatMs, config.startedAt ?? Date.now(), () => this.counters());
    // Without parity there is nothing to spread: frames go out in order.
    this.interleaver = new Interleaver(emitter, config.fec.k > 0 ? config.interleave : 1, signal);
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
        if (this.inventory.settlingUntil === undefined) {
          await this.sendManifest();
          await this.flushInterleaver();
        }
        const next = this.nextDueAt();
        if (next === undefined) break;
        await this.sleepUntil(next);
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
    const watcher = new TreeWatcher(this.config.source, this.config.pollMs, () => this.wake?.());
    try {
      while (!this.signal.aborted) {
        await this.refresh();
        const sent = await this.sendDue();
        const manifestDue = Date.now() - this.lastManifestAt >= this.config.manifestIntervalMs;
        if ((sent > 0 || manifestDue) && !this.signal.aborted) await this.sendManifest();
        await this.flushInterleaver();
        const next = Math.min(this.nextDueAt() ?? Infinity, Date.now() + this.config.rescanMs);
        await this.sleepUntil(next, true);
      }
      await this.emitter.flush();
    } finally {
      this.heartbeats.stop();
      await watcher.close();
    }
  }

  /**
   * Rescans the tree and brings the ledger in line. The ledger is the truth for sends done,
   * so a reset made by `diode-send ledger reset` meanwhile takes effect here.
   */
  private async refresh(): Promise<void> {
    const files = await this.inventory.scan((relPath) => this.versions.get(relPath)?.file);
    const versions = versionsOf(files, this.ledger.sync(files, this.config.redundancy), this.objectIds);
    if (this.config.announceChanges) {
      for (const { change, from, to } of detectChanges(this.versions, versions)) {
        if (to) adoptSends(this.ledger, to, from, this.config.redundancy);
        this.announce(change);
      }
    }
    this.versions = versions;
  }

  private announce(change: Change): void {
    this.changes.push({ change, sends: 0, lastSentAt: 0 });
    log(change.op === 'rename' ? 'rename-detected' : 'delete-detected', { path: printablePath(change.path), to: change.to ? printablePath(change.to) : undefined });
  }

  private nextDueAt(): number | undefined {
    return this.schedule.nextDueAt(this.versions.values(), this.changes, this.inventory.settlingUntil);
  }

  /** New versions first, then redundancy passes, each group in path order. */
  private async sendDue(): Promise<number> {
    const now = Date.now();
    const due = this.schedule.due(this.versions.values(), now);
    this.stats.queuedFiles = due.length;
    this.stats.queuedBytes = due.reduce((sum, v) => sum + v.file.size, 0);
    let sent = 0;
    const readAhead = new ReadAhead(due.map((v) => v.file));
    for (const [i, v] of due.entries()) {
      if (this.signal.aborted) break;
      if (await this.sendVersion(v, readAhead.take(i))) sent++;
      this.stats.queuedFiles--;
      this.stats.queuedBytes -= v.file.size;
    }
    // Every send recorded before the manifest is built: it lists what has left.
    await this.flushInterleaver();
    return sent + (await this.sendChanges(now));
  }

  /** Each pending delete or rename goes once per cycle (spaced like passes) until it went R times. */
  private async sendChanges(now: number): Promise<number> {
    let sent = 0;
    for (const c of this.changes) {
      if (this.signal.aborted) break;
      if (!this.schedule.dueNow(c.sends, c.lastSentAt, now)) continue;
      await this.emitter.emit({ type: FrameType.Change, pass: c.sends + 1 }, encodeChange(c.change));
      c.sends++;
      c.lastSentAt = Date.now();
      this.stats.changesAnnounced++;
      sent++;
    }
    this.changes = this.changes.filter((c) => c.sends < this.config.redundancy);
    return sent;
  }

  /** Sends one version once; the ledger records it in one transaction once the last frame is out. */
  private async sendVersion(v: Version, small: Promise<SmallFile> | undefined): Promise<boolean> {
    const outcome = await this.transmit(v, small);
    if (outcome === 'stopped') return false;
    if (outcome === 'changed') return this.changed(v);
    if (outcome === 'failed') {
      this.schedule.markFailed(v);
      this.recorder.failed(v);
      this.stats.failed++;
      return false;
    }
    // Recorded once its last frames have left the interleaver, not when they were handed to it:
    // a kill meanwhile must not leave the ledger claiming a send that never reached the wire.
    this.interleaver.whenSent(() => {
      this.stats.filesSent++;
      this.stats.fileBytesSent += v.file.size;
      this.recorder.sent(v);
    });
    return true;
  }

  /** Reads, hashes (unless the ledger knows the hash) and frames the file; no ledger writes but the hash. */
  private async transmit(v: Version, small: Promise<SmallFile> | undefined): Promise<'sent' | 'changed' | 'failed' | 'stopped'> {
    const { file } = v;
    try {
      if (small) {
        const read = await small;
        // A hash from the ledger that the bytes no longer have: the file changed without its mtime.
        if (read === 'changed' || (v.sha256 && !v.sha256.equals(read.sha256))) return 'changed';
        v.sha256 = read.sha256;
        await sendObject(this.interleaver, v.objectId, this.objectHeader(v, read.sha256), [read.data], v.sendsDone + 1);
        return 'sent';
      }
      if (!v.sha256) {
        const { sha256, size } = await hashFile(file.absPath, file.size);
        if (size !== file.size) return 'changed';
        v.sha256 = sha256;
        this.recorder.hashed(v, sha256);
      }
      const outcome = await sendFile(this.interleaver, v.objectId, this.objectHeader(v, v.sha256), file.absPath, v.sendsDone + 1);
      return outcome === 'sent' ? 'sent' : 'changed';
    } catch (err) {
      if (err instanceof SendStopped) return 'stopped';
      if (err instanceof TransportError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return 'changed';
      if (code?.startsWith('SQLITE_')) throw err; // the ledger, not the file: stop, do not mark the file failed
      log('file-unreadable', { path: printablePath(file.relPath), error: code ?? (err as Error).message });
      return 'failed';
    }
  }

  /** The file moved under us: its recorded hash may be stale; the next rescan picks up what is there now. */
  private changed(v: Version): false {
    this.stats.changedDuringSend++;
    log('file-changed', { path: printablePath(v.file.relPath) });
    this.recorder.changed(v);
    this.versions.delete(v.file.relPath);
    return false;
  }

  private objectHeader(v: Version, sha256: Buffer): ObjectHeader {
    const { chunkSize } = this.config;
    return {
      kind: 'file', path: v.file.relPath, size: v.file.size, mtimeMs: v.file.mtimeMs, mtimeNs: v.file.mtimeNs, mode: v.file.mode,
      sha256, chunkSize, chunkCount: chunkCountFor(v.file.size, chunkSize), version: v.objectId,
      fecK: this.config.fec.k, fecM: this.config.fec.m,
    };
  }

  private async sendManifest(): Promise<void> {
    this.cycle++;
    const files = [...this.versions.values()]
      .filter((v): v is Version & { sha256: Buffer } => v.sha256 !== undefined && v.everSent)
      .map((v) => ({ path: v.file.relPath, size: v.file.size, mtimeMs: v.file.mtimeMs, sha256: v.sha256 }));
    const body = encodeManifest({ createdAt: Date.now(), pass: this.cycle, passes: this.config.redundancy, files, dirs: this.inventory.dirs });
    const { chunkSize } = this.config;
    const header: ObjectHeader = {
      kind: 'manifest', path: '', size: body.length, mtimeMs: Date.now(), mode: 0,
      sha256: createHash('sha256').update(body).digest(), chunkSize, chunkCount: chunkCountFor(body.length, chunkSize), version: 0,
      fecK: this.config.fec.k, fecM: this.config.fec.m,
    };
    try {
      await sendObject(this.interleaver, this.objectIds.fresh(), header, [body], this.cycle);
    } catch (err) {
      if (err instanceof SendStopped) return;
      throw err;
    }
    this.lastManifestAt = Date.now();
    log('manifest-sent', { cycle: this.cycle, files: files.length, dirs: this.inventory.dirs.length, bytes: body.length });
  }

  /** Sends the blocks the interleaver still holds: nothing may wait in it while we sleep. */
  private async flushInterleaver(): Promise<void> {
    try {
      await this.interleaver.flush();
    } catch (err) {
      if (!(err instanceof SendStopped)) throw err;
      this.interleaver.discard();
    } finally {
      this.recorder.flush();
    }
  }

  /** What the heartbeat reports, read at each beat. */
  private counters(): HeartbeatCounters {
    const queueDepth = this.schedule.countDue(this.versions.values(), Date.now());
    return { filesSent: this.stats.filesSent, queueDepth, pass: this.cycle, passes: this.config.redundancy, nextPassAt: this.nextDueAt() ?? 0 };
  }

  heartbeat(): Heartbeat {
    return this.heartbeats.message();
  }

  /** Waits until `at`, a stop, or (if `wakeOnChange`) a change in the tree. */
  private async sleepUntil(at: number, wakeOnChange = false): Promise<void> {
    const ms = at - Date.now();
    if (ms <= 0) return;
    const early = new AbortController();
    const stop = () => early.abort();
    this.signal.addEventListener('abort', stop, { once: true });
    if (wakeOnChange) this.wake = stop;
    await sleep(ms, undefined, { signal: early.signal }).catch(() => undefined);
    this.signal.removeEventListener('abort', stop);
    this.wake = undefined;
  }
}
