import { chunkCountFor, printablePath, type ObjectHeader } from '@diodesync/protocol';
import type { SourceFile } from '../inventory/scan.js';
import { log } from '../log.js';
import { TransportError } from '../transport/frame-sink.js';
import { SendStopped, type Interleaver } from './interleaver.js';
import { sendLargeFile } from './large-file-sender.js';
import { sendObject } from './object-sender.js';
import type { FramingOptions } from './options.js';
import type { SmallFile } from './small-file-reader.js';

/** What framing needs of a file version; `sha256` is filled in here once known. */
export interface FileObject {
  file: SourceFile;
  objectId: number;
  sha256: Buffer | undefined;
}

/** sent: every frame handed to the interleaver; changed: the file moved under us; failed: unreadable; stopped: the sender is stopping. */
export type SendOutcome = 'sent' | 'changed' | 'failed' | 'stopped';

/**
 * One file version into frames. Input: the version, the pass it is sent for, and (a small file)
 * its bytes read ahead; output: its header and blocks in the interleaver, and how it went.
 */
export class FileFramer<V extends FileObject> {
  constructor(
    private readonly options: FramingOptions,
    /** A big file's first send hashed it (the ledger may keep the hash at once). */
    private readonly onHashed: (v: V, sha256: Buffer) => void,
  ) {}

  /** Reads, hashes (unless the ledger knows the hash) and frames the file; no ledger writes but onHashed. A large file: large-file-sender.ts. */
  async send(out: Interleaver, v: V, pass: number, small: Promise<SmallFile> | undefined): Promise<SendOutcome> {
    const { file } = v;
    try {
      if (small) {
        const read = await small;
        // A hash from the ledger that the bytes no longer have: the file changed without its mtime.
        if (read === 'changed' || (v.sha256 && !v.sha256.equals(read.sha256))) return 'changed';
        v.sha256 = read.sha256;
        await sendObject(out, v.objectId, this.header(v, read.sha256), [read.data], pass);
        return 'sent';
      }
      return await sendLargeFile(out, {
        file, objectId: v.objectId, pass, sha256: v.sha256,
        header: (sha256) => this.header(v, sha256),
        onHashed: (sha256) => {
          v.sha256 = sha256;
          this.onHashed(v, sha256);
        },
      });
    } catch (err) {
      return outcomeOf(err, file);
    }
  }

  private header(v: FileObject, sha256: Buffer | undefined): ObjectHeader {
    const { chunkSize, fec } = this.options;
    const { file } = v;
    return {
      kind: 'file', path: file.relPath, size: file.size, mtimeMs: file.mtimeMs, mtimeNs: file.mtimeNs, mode: file.mode,
      ...(sha256 && { sha256 }), chunkSize, chunkCount: chunkCountFor(file.size, chunkSize), version: v.objectId,
      fecK: fec.k, fecM: fec.m,
    };
  }
}

/**
 * What an error during a file's send means. The link or the ledger failing is no file's fault:
 * rethrown, it stops the run. A file gone meanwhile has changed; any other error makes it unreadable.
 */
function outcomeOf(err: unknown, file: SourceFile): SendOutcome {
  if (err instanceof SendStopped) return 'stopped';
  if (err instanceof TransportError) throw err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'changed';
  if (code?.startsWith('SQLITE_')) throw err; // the ledger, not the file: stop, do not mark the file failed
  log('file-unreadable', { path: printablePath(file.relPath), error: code ?? (err as Error).message });
  return 'failed';
}
