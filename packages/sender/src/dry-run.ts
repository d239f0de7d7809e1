import { existsSync } from 'node:fs';
import { formatBytes } from '@diodesync/cli-kit';
import { printablePath } from '@diodesync/protocol';
import { scanTree, type SourceFile } from './inventory/scan.js';
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

export interface DryRunPlan {
  send: DryRunEntry[];
  /** Files that would not be sent: sent R times already, and --resume given. */
  upToDate: number;
  skipped: number;
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

export async function planDryRun(o: { source: string; filter: TreeFilter; redundancy: number; resume: boolean }, ledger: Ledger | undefined): Promise<DryRunPlan> {
  const snapshot = await scanTree(o.source, o.filter);
  const current = ledger?.current() ?? new Map<string, LedgerVersion>();
  const send: DryRunEntry[] = [];
  let upToDate = 0;
  for (const f of snapshot.files) {
    const reason = reasonFor(f, current.get(f.relPath), o.redundancy, o.resume);
    if (reason) send.push({ path: f.relPath, size: f.size, reason });
    else upToDate++;
  }
  return { send, upToDate, skipped: snapshot.skipped.length };
}

/** --dry-run: reads the tree and, if it exists, the ledger (never creates it), and prints the plan. */
export async function runDryRun(o: { source: string; filter: TreeFilter; redundancy: number; resume: boolean }, ledgerFile: string): Promise<void> {
  const ledger = existsSync(ledgerFile) ? Ledger.open(ledgerFile, { create: false }) : undefined;
  try {
    const recorded = ledger?.source;
    if (ledger && recorded && recorded !== o.source) {
      throw new LedgerError(`ledger ${ledgerFile} records the source ${recorded}, not ${o.source}: give each source tree its own --ledger (or --state)`);
    }
    printDryRun(await planDryRun(o, ledger), o.redundancy);
  } finally {
    ledger?.close();
  }
}

/** The plan on stdout: one line per file (reason, size, path), then the totals. */
export function printDryRun(plan: DryRunPlan, redundancy: number, write: (line: string) => void = (l) => process.stdout.write(l + '\n')): void {
  for (const e of plan.send) write(`${e.reason.padEnd(10)} ${String(e.size).padStart(14)}  ${printablePath(e.path)}`);
  const bytes = plan.send.reduce((sum, e) => sum + e.size, 0);
  const byReason = new Map<DryRunReason, number>();
  for (const e of plan.send) byReason.set(e.reason, (byReason.get(e.reason) ?? 0) + 1);
  const reasons = [...byReason].map(([r, n]) => `${r} ${n}`).join(', ');
  write(`would send ${plan.send.length} file(s), ${formatBytes(bytes)} (${bytes} bytes), ${redundancy} time(s) each${reasons ? `: ${reasons}` : ''}; ${plan.upToDate} up to date, ${plan.skipped} skipped; dry run: nothing sent, ledger unchanged`);
}
