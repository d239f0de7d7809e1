import { existsSync } from 'node:fs';
import { formatBytes } from '@diodesync/cli-kit';
import { printablePath } from '@diodesync/protocol';
import type { SourceFile } from './inventory/scan.js';
import { walkTree } from './inventory/walk.js';
import type { TreeFilter } from './inventory/tree-filter.js';
import { LedgerError } from './ledger/errors.js';
import { Ledger, type LedgerVersion } from './ledger/store.js';

/**
 * `diode-send SRC --dry-run`: what a run would send now and why, read from the tree and the
 * ledger; nothing is sent and no ledger row is written (the ledger is not even created).
 */

/** new: not in the ledger; changed: another size, mtime, inode or mode; reset: an operator's reset;
 * retry: unreadable last time; unfinished: sent fewer than R times (--resume finishes it);
 * again: sent R times, but without --resume every version goes R more times. */
export type DryRunReason = 'new' | 'changed' | 'reset' | 'retry' | 'unfinished' | 'again';

export interface DryRunEntry {
  path: string;
  size: number;
  reason: DryRunReason;
}

const sameIdentity = (v: LedgerVersion, f: SourceFile) => v.size === f.size && v.mtimeMs === f.mtimeMs && v.ino === f.ino && v.mode === f.mode;

/** Why this file would be sent, or undefined if it would not. */
export function reasonFor(f: SourceFile, v: LedgerVersion | undefined, redundancy: number, resume: boolean): DryRunReason | undefined {
  if (!v || v.status === 'superseded') return 'new';
  if (!sameIdentity(v, f)) return 'changed';
  if (v.status === 'gone') return v.sends >= redundancy && resume ? undefined : 'new'; // back in the tree
  if (v.status === 'reset') return 'reset';
  if (v.status === 'failed') return 'retry';
  if (!resume) return 'again';
  return v.sends < redundancy ? 'unfinished' : undefined;
}

/**
 * The plan as it is found: the tree walked in order, each file looked up in the ledger, one line
 * per file that would go, written at once; only the totals are kept, so a tree of a million files
 * costs no more memory than a small one.
 */
export class DryRunTally {
  private files = 0;
  private bytes = 0;
  private readonly byReason = new Map<DryRunReason, number>();
  upToDate = 0;
  skipped = 0;

  constructor(private readonly write: (line: string) => void = (l) => process.stdout.write(l + '\n')) {}

  /** One file that would be sent: its line (reason, size, path). */
  add(e: DryRunEntry): void {
    this.write(`${e.reason.padEnd(10)} ${String(e.size).padStart(14)}  ${printablePath(e.path)}`);
    this.files++;
    this.bytes += e.size;
    this.byReason.set(e.reason, (this.byReason.get(e.reason) ?? 0) + 1);
  }

  /** The totals line. */
  end(redundancy: number): void {
    const reasons = [...this.byReason].map(([r, n]) => `${r} ${n}`).join(', ');
    this.write(`would send ${this.files} file(s), ${formatBytes(this.bytes)} (${this.bytes} bytes), ${redundancy} time(s) each${reasons ? `: ${reasons}` : ''}; ${this.upToDate} up to date, ${this.skipped} skipped; dry run: nothing sent, ledger unchanged`);
  }
}

async function planDryRun(o: DryRunOptions, ledger: Ledger | undefined, tally: DryRunTally): Promise<void> {
  for await (const e of walkTree(o.source, o.filter)) {
    if (e.kind === 'skipped') tally.skipped++;
    if (e.kind !== 'file') continue;
    const reason = reasonFor(e.file, ledger?.currentOf(e.file.relPath), o.redundancy, o.resume);
    if (reason) tally.add({ path: e.file.relPath, size: e.file.size, reason });
    else tally.upToDate++;
  }
  tally.end(o.redundancy);
}

interface DryRunOptions { source: string; filter: TreeFilter; redundancy: number; resume: boolean }

/** --dry-run: reads the tree and, if it exists, the ledger (never creates it), and prints the plan. */
export async function runDryRun(o: DryRunOptions, ledgerFile: string): Promise<void> {
  const ledger = existsSync(ledgerFile) ? Ledger.open(ledgerFile, { create: false }) : undefined;
  try {
    const recorded = ledger?.source;
    if (ledger && recorded && recorded !== o.source) {
      throw new LedgerError(`ledger ${ledgerFile} records the source ${recorded}, not ${o.source}: give each source tree its own --ledger (or --state)`);
    }
    await planDryRun(o, ledger, new DryRunTally());
  } finally {
    ledger?.close();
  }
}
