import { createHash } from 'node:crypto';
import { chunkCountFor, encodeManifest, type ObjectHeader } from '@diodesync/protocol';
import type { SourceFile } from '../inventory/scan.js';
import { log } from '../log.js';
import { SendStopped, type Interleaver } from './interleaver.js';
import { sendObject } from './object-sender.js';
import type { FramingOptions } from './options.js';

/** What the manifest needs of a file version. */
export interface ListedVersion {
  file: SourceFile;
  sha256: Buffer | undefined;
  /** Sent at least once, ever: the receiver may hold it. */
  everSent: boolean;
}

/**
 * The end-of-cycle manifest. Input: the current versions and directories; output: a manifest
 * object listing every version sent at least once (the receiver may hold it) and every directory.
 */
export class ManifestSender {
  /** Manifests sent (or begun) this session: the heartbeat's pass. */
  cycle = 0;
  lastSentAt = 0;

  constructor(private readonly options: FramingOptions & { redundancy: number }) {}

  async send(out: Interleaver, versions: Iterable<ListedVersion>, dirs: string[], objectId: number): Promise<void> {
    this.cycle++;
    const files = [...versions]
      .filter((v): v is ListedVersion & { sha256: Buffer } => v.sha256 !== undefined && v.everSent)
      .map((v) => ({ path: v.file.relPath, size: v.file.size, mtimeMs: v.file.mtimeMs, sha256: v.sha256 }));
    const body = encodeManifest({ createdAt: Date.now(), pass: this.cycle, passes: this.options.redundancy, files, dirs });
    const { chunkSize, fec } = this.options;
    const header: ObjectHeader = {
      kind: 'manifest', path: '', size: body.length, mtimeMs: Date.now(), mode: 0,
      sha256: createHash('sha256').update(body).digest(), chunkSize, chunkCount: chunkCountFor(body.length, chunkSize), version: 0,
      fecK: fec.k, fecM: fec.m,
    };
    try {
      await sendObject(out, objectId, header, [body], this.cycle);
    } catch (err) {
      if (err instanceof SendStopped) return;
      throw err;
    }
    this.lastSentAt = Date.now();
    log('manifest-sent', { cycle: this.cycle, files: files.length, dirs: dirs.length, bytes: body.length });
  }
}
