import { existsSync, readdirSync, realpathSync } from 'node:fs';
import * as path from 'node:path';
import { UsageError, defaultStateRoot, treeKey } from '@diodesync/cli-kit';
import { Ledger } from './store.js';

/** The ledger's name in the state directory before one ledger per tree: still used where it exists. */
export const LEDGER_FILE = 'ledger.sqlite';
/** One ledger per source tree: <state>/ledgers/<name>-<hash of the tree's real path>.sqlite. */
export const LEDGERS_DIR = 'ledgers';

/**
 * Default sender state directory: $STATE_DIRECTORY (systemd), else $XDG_STATE_HOME/diodesync,
 * else ~/.local/state/diodesync. Outside the source tree, which may be a read-only share.
 */
export function defaultStateDir(): string {
  return defaultStateRoot();
}

/** Where a ledger was found, and whether it is the one file of the old layout. */
export interface LedgerLocation {
  file: string;
  legacy: boolean;
}

/** The source a ledger records, or undefined if it cannot be read (it is then not taken for another tree). */
function recordedSource(file: string): string | null | undefined {
  try {
    const ledger = Ledger.open(file, { create: false });
    try {
      return ledger.source;
    } finally {
      ledger.close();
    }
  } catch {
    return undefined;
  }
}

/** This tree's ledger: --ledger, else the old <state>/ledger.sqlite if it records this tree, else <state>/ledgers/<key>.sqlite. */
export function ledgerFor(options: { ledger?: string | undefined; state?: string | undefined }, sourceRealPath: string): LedgerLocation {
  if (options.ledger !== undefined) return { file: path.resolve(options.ledger), legacy: false };
  const state = path.resolve(options.state ?? defaultStateDir());
  const legacy = path.join(state, LEDGER_FILE);
  // An upgrade loses no history: the old single ledger keeps serving the tree it recorded.
  if (existsSync(legacy)) {
    const source = recordedSource(legacy);
    if (source === sourceRealPath || source === null) return { file: legacy, legacy: true };
  }
  return { file: path.join(state, LEDGERS_DIR, `${treeKey(sourceRealPath)}.sqlite`), legacy: false };
}

/** Every ledger under a state directory (the old single one first). */
export function ledgersIn(state: string): string[] {
  const found = existsSync(path.join(state, LEDGER_FILE)) ? [path.join(state, LEDGER_FILE)] : [];
  const dir = path.join(state, LEDGERS_DIR);
  const names = existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.sqlite')).sort() : [];
  return [...found, ...names.map((n) => path.join(dir, n))];
}

/**
 * The ledger a `ledger` subcommand works on: --ledger; else the ledger of --source; else the only
 * ledger under the state directory (several: the operator must say which tree).
 */
export function ledgerForCommand(options: { ledger?: string | undefined; state?: string | undefined; source?: string | undefined }): string {
  if (options.ledger !== undefined) return path.resolve(options.ledger);
  const state = path.resolve(options.state ?? defaultStateDir());
  if (options.source !== undefined) {
    let real: string;
    try {
      real = realpathSync(options.source);
    } catch (err) {
      throw new UsageError(`source directory '${options.source}' does not exist (${(err as NodeJS.ErrnoException).code})`);
    }
    return ledgerFor({ state }, real).file;
  }
  const all = ledgersIn(state);
  if (all.length === 1) return all[0]!;
  if (all.length === 0) throw new UsageError(`no ledger under ${state} (diode-send creates one per source tree on its first run; see --state, --source, --ledger)`);
  const sources = all.map((f) => recordedSource(f) ?? '?').join(', ');
  throw new UsageError(`${all.length} ledgers under ${state} (sources: ${sources}): say which with --source DIR (or --ledger FILE)`);
}
