import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  FrameType, chunkCountFor, encodeHeartbeat, encodeManifest,
  type FecLayout, type Heartbeat, type ObjectHeader,
} from '@diodesync/protocol';
import { hashFile } from './file-hash.js';
import type { FrameEmitter } from './frame-emitter.js';
import { log } from './log.js';
import { Interleaver, SendStopped } from './interleaver.js';
import { sendFile, sendObject } from './object-sender.js';
import { scanTree, type SourceFile } from './scan.js';

export interface SenderConfig {
  source: string;
  /** Every file version is sent this many times. */
  redundancy: number;
  chunkSize: number;
  /** FEC layout of every object sent (k = 0: none). */
  fec: FecLayout;
  /** FEC blocks interleaved on the wire: a burst of up to this many lost frames costs each block one. */
  interleave: number;
  /** Minimum time between two sends of the same version, so one outage cannot eat every copy. */
  passIntervalMs: number;
  heartbeatMs: number;
  /** Watch mode: time between rescans of the tree. */
  rescanMs: number;
}

/** One content version of one path, and how often it has gone out. */
interface Version {
  file: SourceFile;
  sha256: Buffer | undefined;
  objectId: number;
  sendsDone: number;
  lastSentAt: number;
  /** Could not be read (permissions, I/O error): retried only once the file changes. */
  failed: boolean;
}

export interface SenderStats {
  filesSent: number;
  fileBytesSent: number;
  changedDuringSend: number;
  failed: number;
}

/**
 * The scheduler: keeps the versions of the tree, sends what is due (new versions first,
 * redundancy passes after), and a manifest after each cycle.
 */
export class Sender {
  readonly stats: SenderStats = { filesSent: 0, fileBytesSent: 0, changedDuringSend: 0, failed: 0 };
  private readonly versions = new Map<string, Version>();
  private dirs: string[] = [];
  private nextObjectId = 1;
  private cycle = 0;
  private readonly startedAt = Date.now();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readonly interleaver: Interleaver;

  constructor(
    private readonly config: SenderConfig,
    private readonly emitter: FrameEmitter,
    private readonly signal: AbortSignal,
  ) {
    // Without parity there is nothing to spread: frames go out in order.
    this.interleaver = new Interleaver(emitter, config.fec.k > 0 ? config.interleave : 1, signal);
  }

  /** Sends the tree until every version went out R times; returns the versions that could not be sent. */
  async runOnce(): Promise<number> {
    this.startHeartbeat();
    try {
      while (!this.signal.aborted) {
        await this.refresh();
        await this.sendDue();
        if (this.signal.aborted) break;
        await this.sendManifest();
        await this.flushInterleaver();
        const next = this.nextDueAt();
        if (next === undefined) break;
        await this.sleepUntil(next);
      }
      await this.sendHeartbeat();
      await this.emitter.flush();
    } finally {
      this.stopHeartbeat();
    }
    return [...this.versions.values()].filter((v) => v.failed).length;
  }

  /** Keeps the mirror going: rescans, sends what changed and what is due for another pass. */
  async watch(): Promise<void> {
    this.startHeartbeat();
    try {
      while (!this.signal.aborted) {
        await this.refresh();
        const sent = await this.sendDue();
        if (sent > 0 && !this.signal.aborted) await this.sendManifest();
        await this.flushInterleaver();
        const next = Math.min(this.nextDueAt() ?? Infinity, Date.now() + this.config.rescanMs);
        await this.sleepUntil(next);
      }
      await this.emitter.flush();
    } finally {
      this.stopHeartbeat();
    }
  }

  /** Rescans the tree: new or changed files become new versions, vanished ones are forgotten. */
  private async refresh(): Promise<void> {
    const snapshot = await scanTree(this.config.source);
    const seen = new Set<string>();
    for (const file of snapshot.files) {
      seen.add(file.relPath);
      const known = this.versions.get(file.relPath);
      if (known && sameFile(known.file, file)) continue;
      this.versions.set(file.relPath, this.newVersion(file));
    }
    for (const relPath of this.versions.keys()) if (!seen.has(relPath)) this.versions.delete(relPath);
    this.dirs = snapshot.dirs;
  }

  private newVersion(file: SourceFile): Version {
    return { file, sha256: undefined, objectId: this.nextObjectId++, sendsDone: 0, lastSentAt: 0, failed: false };
  }

  private isDue(v: Version, now: number): boolean {
    if (v.failed || v.sendsDone >= this.config.redundancy) return false;
    return v.sendsDone === 0 || now - v.lastSentAt >= this.config.passIntervalMs;
  }

  private nextDueAt(): number | undefined {
    let next: number | undefined;
    for (const v of this.versions.values()) {
      if (v.failed || v.sendsDone >= this.config.redundancy) continue;
      const at = v.sendsDone === 0 ? 0 : v.lastSentAt + this.config.passIntervalMs;
      next = next === undefined ? at : Math.min(next, at);
    }
    return next;
  }

  /** New versions first, then redundancy passes, each group in path order. */
  private async sendDue(): Promise<number> {
    const now = Date.now();
    const due = [...this.versions.values()]
      .filter((v) => this.isDue(v, now))
      .sort((a, b) => Number(a.sendsDone > 0) - Number(b.sendsDone > 0));
    let sent = 0;
    for (const v of due) {
      if (this.signal.aborted) break;
      if (await this.sendVersion(v)) sent++;
    }
    return sent;
  }

  private async sendVersion(v: Version): Promise<boolean> {
    const { file } = v;
    try {
      if (!v.sha256) {
        const { sha256, size } = await hashFile(file.absPath);
        if (size !== file.size) return this.changed(v);
        v.sha256 = sha256;
      }
      const pass = v.sendsDone + 1;
      const outcome = await sendFile(this.interleaver, v.objectId, this.objectHeader(v, v.sha256), file.absPath, pass);
      if (outcome !== 'sent') return this.changed(v);
      v.sendsDone = pass;
      v.lastSentAt = Date.now();
      this.stats.filesSent++;
      this.stats.fileBytesSent += file.size;
      return true;
    } catch (err) {
      if (err instanceof SendStopped) return false;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return this.changed(v);
      v.failed = true;
      this.stats.failed++;
      log('file-unreadable', { path: file.relPath, error: code ?? (err as Error).message });
      return false;
    }
  }

  /** The file moved under us: forget this version; the next rescan picks up what is there now. */
  private changed(v: Version): false {
    this.stats.changedDuringSend++;
    log('file-changed', { path: v.file.relPath });
    this.versions.delete(v.file.relPath);
    return false;
  }

  private objectHeader(v: Version, sha256: Buffer): ObjectHeader {
    const { chunkSize } = this.config;
    return {
      kind: 'file', path: v.file.relPath, size: v.file.size, mtimeMs: v.file.mtimeMs, mode: v.file.mode,
      sha256, chunkSize, chunkCount: chunkCountFor(v.file.size, chunkSize), version: v.objectId,
      fecK: this.config.fec.k, fecM: this.config.fec.m,
    };
  }

  private async sendManifest(): Promise<void> {
    this.cycle++;
    const files = [...this.versions.values()]
      .filter((v): v is Version & { sha256: Buffer } => v.sha256 !== undefined && v.sendsDone > 0)
      .map((v) => ({ path: v.file.relPath, size: v.file.size, mtimeMs: v.file.mtimeMs, sha256: v.sha256 }));
    const body = encodeManifest({ createdAt: Date.now(), pass: this.cycle, passes: this.config.redundancy, files, dirs: this.dirs });
    const { chunkSize } = this.config;
    const header: ObjectHeader = {
      kind: 'manifest', path: '', size: body.length, mtimeMs: Date.now(), mode: 0,
      sha256: createHash('sha256').update(body).digest(), chunkSize, chunkCount: chunkCountFor(body.length, chunkSize), version: 0,
      fecK: this.config.fec.k, fecM: this.config.fec.m,
    };
    try {
      await sendObject(this.interleaver, this.nextObjectId++, header, [body], this.cycle);
    } catch (err) {
      if (err instanceof SendStopped) return;
      throw err;
    }
    log('manifest-sent', { cycle: this.cycle, files: files.length, dirs: this.dirs.length, bytes: body.length });
  }

  /** Sends the blocks the interleaver still holds: nothing may wait in it while we sleep. */
  private async flushInterleaver(): Promise<void> {
    try {
      await this.interleaver.flush();
    } catch (err) {
      if (!(err instanceof SendStopped)) throw err;
      this.interleaver.discard();
    }
  }

  heartbeat(): Heartbeat {
    const next = this.nextDueAt();
    return {
      sessionId: this.emitter.sessionId, host: hostname(), startedAt: this.startedAt, sentAt: Date.now(),
      intervalMs: this.config.heartbeatMs, framesSent: this.emitter.framesSent, bytesSent: this.emitter.bytesSent,
      filesSent: this.stats.filesSent, queueDepth: [...this.versions.values()].filter((v) => this.isDue(v, Date.now())).length,
      pass: this.cycle, passes: this.config.redundancy, nextPassAt: next ?? 0,
    };
  }

  private async sendHeartbeat(): Promise<void> {
    await this.emitter.emit({ type: FrameType.Heartbeat }, encodeHeartbeat(this.heartbeat()));
  }

  private startHeartbeat(): void {
    void this.sendHeartbeat();
    this.heartbeatTimer = setInterval(() => void this.sendHeartbeat().catch(() => undefined), this.config.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
  }

  private async sleepUntil(at: number): Promise<void> {
    const ms = at - Date.now();
    if (ms > 0) await sleep(ms, undefined, { signal: this.signal }).catch(() => undefined);
  }
}

function sameFile(a: SourceFile, b: SourceFile): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino && a.mode === b.mode;
}
