import { printablePath } from '@diodesync/protocol';
import { log } from '../log.js';
import type { Ledger } from './store.js';
import type { Version } from './version.js';

/** Files at least this big have their hash recorded as soon as it is known. */
const HASH_RECORD_BYTES = 16 * 1024 * 1024;
/** Sends are written to the ledger in batches of this many, or once the oldest waited this long. */
const RECORD_BATCH = 64;
const RECORD_DELAY_MS = 1000;

/**
 * What sending writes to the ledger, and when. Input: what became of each send (hashed, on the
 * wire, changed underneath, unreadable); output: ledger rows, and a file-sent line per recorded send.
 */
export class SendRecorder {
  /** Sends on the wire, not yet in the ledger. */
  private unrecorded: Version[] = [];

  constructor(
    private readonly ledger: Ledger,
    private readonly redundancy: number,
  ) {}

  /**
   * A big file's hash is worth a write of its own, as soon as its first send has read it: a kill
   * before the send is recorded leaves the next send a header with the hash from its first frame.
   * A small one's goes with its send record (one transaction per batch).
   */
  hashed(v: Version, sha256: Buffer): void {
    if (v.file.size >= HASH_RECORD_BYTES) this.ledger.recordHash(v.id, sha256);
  }

  /** A send whose last frame reached the wire. */
  sent(v: Version): void {
    v.everSent = true;
    v.lastSentAt = Date.now();
    this.unrecorded.push(v);
    if (this.unrecorded.length >= RECORD_BATCH || Date.now() - this.unrecorded[0]!.lastSentAt >= RECORD_DELAY_MS) this.flush();
  }

  /** The file moved under us: its recorded hash may be stale. */
  changed(v: Version): void {
    this.ledger.recordHash(v.id, null);
  }

  failed(v: Version): void {
    this.ledger.markFailed(v.id);
  }

  /**
   * Writes the sends that reached the wire to the ledger, in one transaction: one commit per file
   * cost 695 ms of the sender's 3.7 s on 10,000 small files. A kill -9 loses at most the last batch,
   * whose files are then sent once more on resume: never a send claimed that did not happen.
   */
  flush(): void {
    const batch = this.unrecorded;
    if (batch.length === 0) return;
    this.unrecorded = [];
    const recorded = this.ledger.recordSends(batch.map((v) => ({ id: v.id, sha256: v.sha256 ?? null })), this.redundancy);
    batch.forEach((v, i) => {
      const pass = v.sendsDone + 1;
      v.sendsDone = recorded[i]!.sends;
      log('file-sent', { path: printablePath(v.file.relPath), pass, sends: v.sendsDone, bytes: v.file.size });
    });
  }
}
