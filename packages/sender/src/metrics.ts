import { PrometheusText } from '@diodesync/cli-kit';
import type { Ledger, LedgerStats } from './ledger/store.js';
import { STATUSES } from './ledger/status.js';
import type { SenderStats } from './stats.js';

/** What one scrape of `diode-send --metrics` reads, each figure at the moment of the scrape. */
export interface SenderSnapshot {
  stats: SenderStats;
  /** Manifests sent: one per cycle through the tree. */
  passes: number;
  framesSent: number;
  wireBytesSent: number;
  /** --rate, in bits per second. */
  rateLimit: number;
  /** Seconds since the start, for the average wire rate. */
  seconds: number;
  /** UDP: datagrams the kernel reported refused (ICMP port unreachable: nothing listens, or a routing error). */
  linkRefused: number;
  /** The ledger's versions and bytes by status; undefined while it cannot be read. */
  ledger: LedgerStats['byStatus'] | undefined;
}

/** The ledger's counts by status for a scrape; undefined (the scrape still answers) if the ledger cannot be read now. */
export function readLedgerCounts(ledger: Ledger): LedgerStats['byStatus'] | undefined {
  try {
    return ledger.stats().byStatus;
  } catch {
    return undefined;
  }
}

/** Prometheus text exposition of the sender's figures (names prefixed diodesync_sender_). */
export function formatSenderMetrics(s: SenderSnapshot): string {
  const p = new PrometheusText('diodesync_sender_');
  p.add('files_sent_total', 'counter', 'File versions sent (each of the R sends counts).', s.stats.filesSent);
  p.add('file_bytes_sent_total', 'counter', 'Bytes of file content sent.', s.stats.fileBytesSent);
  p.add('frames_sent_total', 'counter', 'Frames put on the wire.', s.framesSent);
  p.add('wire_bytes_sent_total', 'counter', 'Bytes put on the wire, headers and parity included.', s.wireBytesSent);
  p.add('passes_total', 'counter', 'Cycles through the tree, each ended by a manifest.', s.passes);
  p.add('rate_limit_bits_per_second', 'gauge', 'The configured --rate.', s.rateLimit);
  p.add('wire_rate_bits_per_second', 'gauge', 'Average wire rate since the start.', s.seconds > 0 ? Math.round((s.wireBytesSent * 8) / s.seconds) : 0);
  p.add('queued_files', 'gauge', 'File versions the current cycle still has to send.', s.stats.queuedFiles);
  p.add('queued_bytes', 'gauge', 'Bytes the current cycle still has to send.', s.stats.queuedBytes);
  p.add('changes_announced_total', 'counter', 'Delete and rename announcements sent.', s.stats.changesAnnounced);
  for (const status of STATUSES) p.add('ledger_versions', 'gauge', 'Ledger rows by status.', s.ledger?.[status]?.versions ?? 0, { status });
  for (const status of STATUSES) p.add('ledger_bytes', 'gauge', 'Bytes of the ledger rows by status.', s.ledger?.[status]?.bytes ?? 0, { status });
  p.add('errors_total', 'counter', 'Errors, by kind.', s.stats.failed, { kind: 'file-unreadable' });
  p.add('errors_total', 'counter', 'Errors, by kind.', s.stats.changedDuringSend, { kind: 'changed-during-send' });
  p.add('errors_total', 'counter', 'Errors, by kind.', s.linkRefused, { kind: 'link-refused' });
  p.add('entries_unreadable', 'gauge', 'Entries of the last scan that could not be read.', s.stats.unreadable);
  p.add('entries_skipped', 'gauge', 'Entries of the last scan left out (special files, symlinks, excluded).', s.stats.skipped);
  p.add('ledger_readable', 'gauge', '1 if the ledger answered this scrape.', s.ledger ? 1 : 0);
  return p.toString();
}
