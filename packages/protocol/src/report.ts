/*
 * report.json: what a receiver lacks against the sender's latest manifest. The receiver writes it
 * into its state directory; an operator carries it back across the diode by hand, and
 * `diode-send ledger reset --from-report` reads it. Besides the frames, the one format both
 * sides of the diode share.
 */

/** A file of the sender's latest manifest that the mirror lacks, or holds with other content. */
export interface ReportEntry {
  path: string;
  size: number;
  sha256: string;
  mtime: string;
  /** Why it is not in the mirror, where the receiver knows (refused, write failed, ...). */
  reason?: string;
}

/** What the receiver lacks against the sender's latest manifest. */
export interface SyncReport {
  generatedAt: string;
  dest: string;
  synced: boolean;
  manifestCreatedAt: string | null;
  manifestFiles: number;
  /** In the manifest, absent from the mirror (refused files too, with their reason). */
  missing: ReportEntry[];
  /** In the manifest, present in the mirror with other content, size or mtime. */
  outdated: ReportEntry[];
  /** In the mirror, not in the manifest. */
  unexpected: string[];
}

/** report.json as the receiver writes it: the sync report plus what the assembler knows, objects still partial and those given up. */
export interface ReceiverReport extends SyncReport {
  partial: { path: string; chunks: number; of: number; idleSeconds: number }[];
  expired: { path: string; at: string; chunks: number; of: number }[];
}

/** A report whose lists may be drawn as it is written (async iterables), so none need be held whole. */
export type Streamed<T> = { [K in keyof T]: T[K] extends (infer E)[] ? E[] | AsyncIterable<E> : T[K] };

/**
 * The paths a report (report.json, parsed) lists as missing or outdated: all the sender needs of
 * it. Undefined if it has not both lists, each of entries with a string path; nothing else is
 * required, so an older or a hand-trimmed report still reads.
 */
export function reportedPaths(report: unknown): string[] | undefined {
  const r = report as Partial<Record<'missing' | 'outdated', unknown>> | null;
  const lists = [r?.missing, r?.outdated];
  const valid = (l: unknown): l is Pick<ReportEntry, 'path'>[] =>
    Array.isArray(l) && l.every((e) => typeof e === 'object' && e !== null && typeof (e as ReportEntry).path === 'string');
  if (!lists.every(valid)) return undefined;
  return (lists as Pick<ReportEntry, 'path'>[][]).flatMap((l) => l.map((e) => e.path));
}
