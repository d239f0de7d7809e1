/** What the sender has done so far: the CLI's progress line and final `done` line show it. */
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

export function emptyStats(): SenderStats {
  return { filesSent: 0, fileBytesSent: 0, changedDuringSend: 0, failed: 0, queuedFiles: 0, queuedBytes: 0, changesAnnounced: 0, skipped: 0, unreadable: 0 };
}
