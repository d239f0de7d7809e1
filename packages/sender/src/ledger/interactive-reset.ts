import { formatBytes } from '@diodesync/cli-kit';
import { printablePath } from '@diodesync/protocol';
import { CriteriaError, resetSelection, type ResetOptions } from './reset-criteria.js';
import { Prompter } from './prompt.js';
import { Ledger, type LedgerVersion } from './store.js';

/**
 * `diode-send ledger reset --interactive`: the menu BlindFTP's xfl_reset gave its operators.
 * Criteria are chosen one by one (each narrows the choice, as on the command line, and goes
 * through the same resetSelection), then the versions chosen are shown, and only a "y" resets
 * exactly those. Anything else, or the end of the input, leaves the ledger as it was.
 */

const MENU = [
  '  1) sent during an incident: since a date-time (and until one)',
  '  2) by path: a glob',
  '  3) by regular expression',
  "  4) from a receiver's report.json (its missing and outdated files)",
  '  5) every version',
  '  p) preview the versions chosen, then confirm',
  '  q) quit, reset nothing',
];

/** Versions listed in the preview; the rest are counted. */
const PREVIEW_LINES = 200;

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());

export async function interactiveReset(ledgerFile: string, prompter: Prompter): Promise<void> {
  const ledger = Ledger.open(ledgerFile, { create: false, durable: true });
  try {
    const stats = ledger.stats();
    prompter.say(`ledger ${stats.file}${stats.source ? ` (source ${stats.source})` : ''}`);
    let criteria: ResetOptions = {};
    for (;;) {
      const given = Object.keys(criteria).length > 0;
      prompter.say();
      prompter.say(given ? `Criteria so far: ${describe(criteria)}; ${matching(ledger, criteria)} version(s) match. Add one, or preview:` : 'Reset which file versions? Criteria combine: each one narrows the choice.');
      for (const line of MENU) prompter.say(line);
      const choice = (await prompter.ask(given ? 'choice [p]: ' : 'choice: ')).toLowerCase() || (given ? 'p' : '');
      if (choice === 'q') {
        prompter.say('nothing reset');
        return;
      }
      if (choice === 'p' && !given) {
        prompter.say('choose a criterion first (1-5), or q to quit');
        continue;
      }
      if (choice === 'p') {
        if (await previewAndConfirm(ledger, criteria, prompter)) return;
        criteria = {};
        continue;
      }
      const added = await askCriterion(choice, prompter);
      if (!added) continue;
      const next = choice === '5' ? added : { ...criteria, ...added };
      try {
        resetSelection(next); // the same checks as the command line: a bad date, regex or report is said now
        criteria = next;
      } catch (err) {
        if (!(err instanceof CriteriaError)) throw err;
        prompter.say(`  not taken: ${err.message}`);
      }
    }
  } finally {
    ledger.close();
    await prompter.close();
  }
}

/** Asks what the chosen criterion needs; undefined for a choice that is not on the menu. */
async function askCriterion(choice: string, prompter: Prompter): Promise<ResetOptions | undefined> {
  switch (choice) {
    case '1': {
      const since = await prompter.ask('since (ISO 8601, local time unless a zone is given, e.g. 2026-11-17 10:00): ');
      const until = await prompter.ask('until (empty: no end): ');
      return until === '' ? { since } : { since, until };
    }
    case '2':
      return { path: await prompter.ask("glob ('*' stays in a directory, '**' crosses them, e.g. docs/**): ") };
    case '3':
      return { regex: await prompter.ask('regular expression (JavaScript, anywhere in the path; anchor with ^ and $): ') };
    case '4':
      return { fromReport: await prompter.ask("the receiver's report.json: ") };
    case '5':
      return { all: true };
    default:
      prompter.say(`'${choice}' is not on the menu: 1-5, p or q`);
      return undefined;
  }
}

function matching(ledger: Ledger, criteria: ResetOptions): number {
  return ledger.reset(resetSelection(criteria).select, {}, true).length;
}

function describe(c: ResetOptions): string {
  const parts: string[] = [];
  if (c.all) parts.push('every version');
  if (c.since !== undefined) parts.push(`sent since ${c.since}`);
  if (c.until !== undefined) parts.push(`first sent until ${c.until}`);
  if (c.path !== undefined) parts.push(`path ${c.path}`);
  if (c.regex !== undefined) parts.push(`regex ${c.regex}`);
  if (c.fromReport !== undefined) parts.push(`report ${c.fromReport}`);
  return parts.join(', ');
}

/** Shows the versions chosen and resets exactly those on "y"; true once the dialog is over. */
async function previewAndConfirm(ledger: Ledger, criteria: ResetOptions, prompter: Prompter): Promise<boolean> {
  const selection = resetSelection(criteria);
  const chosen = ledger.reset(selection.select, selection.criteria, true);
  if (chosen.length === 0) {
    prompter.say('No version in the source tree matches these criteria: start again (or q).');
    return false;
  }
  prompter.say();
  prompter.say(['STATUS'.padEnd(10), 'SENDS'.padStart(5), 'LAST SENT'.padEnd(24), 'SIZE'.padStart(10), 'PATH'].join(' '));
  for (const v of chosen.slice(0, PREVIEW_LINES)) {
    prompter.say([v.status.padEnd(10), String(v.sends).padStart(5), iso(v.lastSentAt).padEnd(24), formatBytes(v.size).padStart(10), printablePath(v.path)].join(' '));
  }
  if (chosen.length > PREVIEW_LINES) prompter.say(`... and ${chosen.length - PREVIEW_LINES} more`);
  const bytes = chosen.reduce((sum, v) => sum + v.size, 0);
  prompter.say(`${chosen.length} version(s), ${formatBytes(bytes)}: each is sent again as many times as -R says.`);
  if (selection.reportPaths) {
    const found = new Set(chosen.map((v) => v.path));
    const absent = [...selection.reportPaths].filter((p) => !found.has(p)).length;
    if (absent > 0) prompter.say(`${absent} path(s) of the report are not among them (not in the source tree, or not matching the other criteria)`);
  }
  const answer = (await prompter.ask('Reset these? [y/N] ')).toLowerCase();
  if (answer !== 'y' && answer !== 'yes') {
    prompter.say('nothing reset');
    return true;
  }
  // Exactly the versions shown: one that changed or vanished since is left alone.
  const shown = new Set(chosen.map((v: LedgerVersion) => v.id));
  const done = ledger.reset((v) => shown.has(v.id) && selection.select(v), { ...selection.criteria, interactive: true }, false);
  prompter.say(`reset ${done.length} file(s): a running sender sends them again within 10 seconds`);
  return true;
}
