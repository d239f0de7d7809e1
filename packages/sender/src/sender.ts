import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  FrameType, chunkCountFor, encodeHeartbeat, encodeManifest,
  type Heartbeat, type ObjectHeader,
} from '@diodesync/protocol';
import { hashFile } from './file-hash.js';
import type { FrameEmitter } from './frame-emitter.js';
import type { Ledger, LedgerVersion } from './ledger.js';
import { log } from './log.js';
import { SendStopped, sendFile, sendObject } from './object-sender.js';
import { scanTree, type SourceFile } from './scan.js';
import { TransportError } from './transport.js';

/** Files at least this big have their hash recorded as soon as it is known. */
const HASH_RECORD_BYTES = 16 * 1024 * 1024;

export interface SenderConfig {
  source: string;
  /** Every file version is sent this many times. */
  redundancy: number;
  chunkSize: number;
  /** Minimum time between two sends of the same version, so one outage cannot eat every copy. */
  passIntervalMs: number;
  heartbeatMs: number;
  /** Watch mode: time between rescans of the tree. */
  rescanMs: number;
  /** Watch mode: a manifest at least this often, so a restarted or repaired receiver learns the tree again. */
  manifestIntervalMs: number;
}

/** One content version of one path, and how often it has gone out (as the ledger says). */
interface Version {
  file: SourceFile;
  /** Ledger row of this version. */
  id: number;
  sha256: Buffer | undefined;
  objectId: number;
  /** Sends that count towards R. */
  sendsDone: number;
  /** Sent at least once, ever: the receiver may hold it, so it belongs in the manifest. */
  everSent: boolean;
  lastSentAt: number;
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
  private versions = new Map<string, Version>();
  /** Object ids are per session; a version keeps its id while it is current. */
  private objectIds = new Map<number, number>();
  /** Could not be read (permissions, I/O error): retried only once the file changes, or at the next start. */
  private readonly failed = new Set<number>();
  private dirs: string[] = [];
  private nextObjectId = 1;
  private lastManifestAt = 0;
  private cycle = 0;
  private readonly startedAt = Date.now();
  private heartbeatTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: SenderConfig,
    private readonly emitter: FrameEmitter,
    private readonly ledger: Ledger,
    private readonly signal: AbortSignal,
  ) {}

  /** Sends the tree until every version went out R times; returns the versions that could not be sent. */
  async runOnce(): Promise<number> {
    this.startHeartbeat();
    try {
      while (!this.signal.aborted) {
        await this.refresh();
        await this.sendDue();
        if (this.signal.aborted) break;
        await this.sendManifest();
        const next = this.nextDueAt();
        if (next === undefined) break;
        await this.sleepUntil(next);
      }
      await this.sendHeartbeat();
      await this.emitter.flush();
    } finally {
      this.stopHeartbeat();
    }
    return [...this.versions.values()].filter((v) => this.failed.has(v.id)).length;
  }

  /** Keeps the mirror going: rescans, sends what changed and what is due for another pass. */
  async watch(): Promise<void> {
    this.startHeartbeat();
    try {
      while (!this.signal.aborted) {
        await this.refresh();
        const sent = await this.sendDue();
        const manifestDue = Date.now() - this.lastManifestAt >= this.config.manifestIntervalMs;
        if ((sent > 0 || manifestDue) && !this.signal.aborted) await this.sendManifest();
        const next = Math.min(this.nextDueAt() ?? Infinity, Date.now() + this.config.rescanMs);
        await this.sleepUntil(next);
      }
      await this.emitter.flush();
    } finally {
      this.stopHeartbeat();
    }
  }

  /**
   * Rescans the tree and brings the ledger in line. The ledger is the truth for sends done,
   * so a reset made by `diode-send ledger reset` meanwhile takes effect here.
   */
  private async refresh(): Promise<void> {
    const snapshot = await scanTree(this.config.source);
    const current = this.ledger.sync(snapshot.files, this.config.redundancy);
    const versions = new Map<string, Version>();
    const objectIds = new Map<number, number>();
    for (const file of snapshot.files) {
      const row = current.get(file.relPath)!;
      const objectId = this.objectIds.get(row.id) ?? this.nextObjectId++;
      objectIds.set(row.id, objectId);
      versions.set(file.relPath, this.version(file, row, objectId));
    }
    this.versions = versions;
    this.objectIds = objectIds;
    this.dirs = snapshot.dirs;
  }

  private version(file: SourceFile, row: LedgerVersion, objectId: number): Version {
    return {
      file, id: row.id, sha256: row.sha256 ?? undefined, objectId, sendsDone: row.sends,
      everSent: row.totalSends > 0, lastSentAt: row.lastSentAt ?? 0,
    };
  }

  private isDue(v: Version, now: number): boolean {
    if (this.failed.has(v.id) || v.sendsDone >= this.config.redundancy) return false;
    return v.sendsDone === 0 || now - v.lastSentAt >= this.config.passIntervalMs;
  }

  private nextDueAt(): number | undefined {
    let next: number | undefined;
    for (const v of this.versions.values()) {
      if (this.failed.has(v.id) || v.sendsDone >= this.config.redundancy) continue;
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

  /** Sends one version once; the ledger records it in one transaction once the last frame is out. */
  private async sendVersion(v: Version): Promise<boolean> {
    const outcome = await this.transmit(v);
    if (outcome === 'stopped') return false;
    if (outcome === 'changed') return this.changed(v);
    if (outcome === 'failed') {
      this.failed.add(v.id);
      this.ledger.markFailed(v.id);
      this.stats.failed++;
      return false;
    }
    const pass = v.sendsDone + 1;
    const { sends } = this.ledger.recordSend(v.id, this.config.redundancy, v.sha256 ?? null);
    v.sendsDone = sends;
    v.everSent = true;
    v.lastSentAt = Date.now();
    this.stats.filesSent++;
    this.stats.fileBytesSent += v.file.size;
    log('file-sent', { path: v.file.relPath, pass, sends, bytes: v.file.size });
    return true;
  }

  /** Reads, hashes (unless the ledger knows the hash) and frames the file; no ledger writes but the hash. */
  private async transmit(v: Version): Promise<'sent' | 'changed' | 'failed' | 'stopped'> {
    const { file } = v;
    try {
      if (!v.sha256) {
        const { sha256, size } = await hashFile(file.absPath, file.size);
        if (size !== file.size) return 'changed';
        v.sha256 = sha256;
        // A big file's hash is worth a write of its own: a kill during its long send will not cost
        // a re-hash. A small one's goes with its send record (one transaction per file).
        if (file.size >= HASH_RECORD_BYTES) this.ledger.recordHash(v.id, sha256);
      }
      const outcome = await sendFile(this.emitter, v.objectId, this.objectHeader(v, v.sha256), file.absPath, v.sendsDone + 1, this.signal);
      return outcome === 'sent' ? 'sent' : 'changed';
    } catch (err) {
      if (err instanceof SendStopped) return 'stopped';
      if (err instanceof TransportError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return 'changed';
      if (code?.startsWith('SQLITE_')) throw err; // the ledger, not the file: stop, do not mark the file failed
      log('file-unreadable', { path: file.relPath, error: code ?? (err as Error).message });
      return 'failed';
    }
  }

  /** The file moved under us: its recorded hash may be stale; the next rescan picks up what is there now. */
  private changed(v: Version): false {
    this.stats.changedDuringSend++;
    log('file-changed', { path: v.file.relPath });
    this.ledger.recordHash(v.id, null);
    this.versions.delete(v.file.relPath);
    return false;
  }

  private objectHeader(v: Version, sha256: Buffer): ObjectHeader {
    const { chunkSize } = this.config;
    return {
      kind: 'file', path: v.file.relPath, size: v.file.size, mtimeMs: v.file.mtimeMs, mode: v.file.mode,
      sha256, chunkSize, chunkCount: chunkCountFor(v.file.size, chunkSize), version: v.objectId,
    };
  }

  private async sendManifest(): Promise<void> {
    this.cycle++;
    const files = [...this.versions.values()]
      .filter((v): v is Version & { sha256: Buffer } => v.sha256 !== undefined && v.everSent)
      .map((v) => ({ path: v.file.relPath, size: v.file.size, mtimeMs: v.file.mtimeMs, sha256: v.sha256 }));
    const body = encodeManifest({ createdAt: Date.now(), pass: this.cycle, passes: this.config.redundancy, files, dirs: this.dirs });
    const { chunkSize } = this.config;
    const header: ObjectHeader = {
      kind: 'manifest', path: '', size: body.length, mtimeMs: Date.now(), mode: 0,
      sha256: createHash('sha256').update(body).digest(), chunkSize, chunkCount: chunkCountFor(body.length, chunkSize), version: 0,
    };
    await sendObject(this.emitter, this.nextObjectId++, header, [body], this.cycle);
    this.lastManifestAt = Date.now();
    log('manifest-sent', { cycle: this.cycle, files: files.length, dirs: this.dirs.length, bytes: body.length });
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
