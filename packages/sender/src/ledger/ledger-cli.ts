import { printablePath } from '@diodesync/protocol';
import { STATUSES, type VersionStatus } from './status.js';
import { Ledger, type LedgerStats, type LedgerVersion } from './store.js';
import { CriteriaError, resetSelection, type ResetOptions } from './reset-criteria.js';
import { interactiveReset } from './interactive-reset.js';
import { Prompter } from './prompt.js';

/** `diode-send ledger list|stats|reset`: what an operator needs to read and correct the ledger. */

export const LEDGER_ACTIONS = ['list', 'stats', 'reset'] as const;
export type LedgerAction = (typeof LEDGER_ACTIONS)[number];

export interface LedgerCommand extends ResetOptions {
  action: LedgerAction;
  ledger: string;
  status?: string;
  json?: boolean;
  dryRun?: boolean;
}

const out = (line = '') => process.stdout.write(line + '\n');
const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());

/** Runs one ledger action; bad criteria throw CriteriaError, an unusable ledger LedgerError. */
export function runLedgerCommand(cmd: LedgerCommand): void {
  const resetOptions = [cmd.since, cmd.until, cmd.path, cmd.regex, cmd.fromReport, cmd.dryRun, cmd.all].some((x) => x !== undefined && x !== false);
  if (cmd.action !== 'reset' && resetOptions) throw new CriteriaError(`reset criteria are for 'ledger reset', not 'ledger ${cmd.action}'`);
  if (cmd.action !== 'list' && cmd.status !== undefined) throw new CriteriaError(`--status is for 'ledger list'`);
  if (cmd.status !== undefined && !STATUSES.includes(cmd.status as VersionStatus)) {
    throw new CriteriaError(`--status must be one of ${STATUSES.join(', ')}`);
  }
  // Parse the criteria before opening the ledger: a typo never touches it.
  const selection = cmd.action === 'reset' ? resetSelection(cmd) : undefined;
  const ledger = Ledger.open(cmd.ledger, { create: false, durable: true });
  try {
    if (cmd.action === 'list') list(ledger.list(cmd.status as VersionStatus | undefined), cmd.json ?? false);
    else if (cmd.action === 'stats') stats(ledger.stats(), cmd.json ?? false);
    else {
      const { select, criteria, reportPaths } = selection!;
      const chosen = ledger.reset(select, criteria, cmd.dryRun ?? false);
      report(chosen, cmd, reportPaths);
    }
  } finally {
    ledger.close();
  }
}

/** `ledger reset --interactive`: the criteria come from the dialog on stdin/stdout, never also from options. */
export async function runInteractiveReset(cmd: LedgerCommand): Promise<void> {
  if (cmd.action !== 'reset') throw new CriteriaError(`--interactive is for 'ledger reset', not 'ledger ${cmd.action}'`);
  const options = { '--since': cmd.since, '--until': cmd.until, '--path': cmd.path, '--regex': cmd.regex, '--from-report': cmd.fromReport, '--all': cmd.all, '--dry-run': cmd.dryRun, '--json': cmd.json };
  const given = Object.entries(options).filter(([, v]) => v !== undefined && v !== false).map(([k]) => k);
  if (given.length > 0) throw new CriteriaError(`--interactive asks for the criteria and confirms: drop ${given.join(', ')}`);
  await interactiveReset(cmd.ledger, new Prompter(process.stdin, process.stdout));
}

function list(versions: LedgerVersion[], json: boolean): void {
  if (json) {
    out(JSON.stringify(versions.map((v) => ({
      path: v.path, status: v.status, size: v.size, mtime: iso(v.mtimeMs), sha256: v.sha256?.toString('hex') ?? null,
      sends: v.sends, totalSends: v.totalSends, firstSeen: iso(v.firstSeen), firstSentAt: v.firstSentAt === null ? null : iso(v.firstSentAt),
      lastSentAt: v.lastSentAt === null ? null : iso(v.lastSentAt),
    })), null, 2));
    return;
  }
  out(['STATUS'.padEnd(10), 'SENDS'.padStart(5), 'TOTAL'.padStart(5), 'LAST SENT'.padEnd(24), 'SIZE'.padStart(12), 'PATH'].join(' '));
  for (const v of versions) {
    out([v.status.padEnd(10), String(v.sends).padStart(5), String(v.totalSends).padStart(5), iso(v.lastSentAt).padEnd(24), String(v.size).padStart(12), printablePath(v.path)].join(' '));
  }
}

function stats(s: LedgerStats, json: boolean): void {
  if (json) {
    out(JSON.stringify(s, null, 2));
    return;
  }
  out(`ledger     ${s.file} (schema ${s.schemaVersion})`);
  out(`source     ${s.source ?? '-'}`);
  for (const status of STATUSES) {
    const g = s.byStatus[status];
    if (g) out(`${status.padEnd(10)} ${String(g.versions).padStart(8)} version(s) ${String(g.bytes).padStart(14)} bytes`);
  }
  out(`sessions   ${s.sessions}${s.lastSession ? `, last started ${iso(s.lastSession.startedAt)}, ${s.lastSession.endedAt === null ? 'running or killed' : `ended ${iso(s.lastSession.endedAt)}`}` : ''}`);
  out(`resets     ${s.resets}${s.lastReset ? `, last ${iso(s.lastReset.at)}: ${s.lastReset.files} file(s), ${JSON.stringify(s.lastReset.criteria)}` : ''}`);
}

function report(chosen: LedgerVersion[], cmd: LedgerCommand, reportPaths: Set<string> | undefined): void {
  if (cmd.dryRun) for (const v of chosen) out(printablePath(v.path));
  if (reportPaths) {
    const found = new Set(chosen.map((v) => v.path));
    const absent = [...reportPaths].filter((p) => !found.has(p));
    // Listed by the receiver but not (or no longer) in the source tree, or excluded by other criteria.
    if (absent.length > 0) process.stderr.write(`diode-send: ${absent.length} path(s) of the report not reset (not in the source tree, or not matching the other criteria)\n`);
  }
  out(cmd.dryRun ? `would reset ${chosen.length} file(s)` : `reset ${chosen.length} file(s): a running sender sends them again within 10 seconds`);
}
