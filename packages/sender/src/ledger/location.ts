import { homedir } from 'node:os';
import * as path from 'node:path';

/** The ledger's name in the state directory. */
export const LEDGER_FILE = 'ledger.sqlite';

/**
 * Default sender state directory: $XDG_STATE_HOME/diodesync, else ~/.local/state/diodesync.
 * Outside the source tree, which may be a read-only share.
 */
export function defaultStateDir(): string {
  const base = process.env.XDG_STATE_HOME || path.join(homedir(), '.local', 'state');
  return path.join(base, 'diodesync');
}

/** --ledger FILE, else <--state DIR>/ledger.sqlite. */
export function ledgerPath(options: { ledger?: string | undefined; state?: string | undefined }): string {
  return path.resolve(options.ledger ?? path.join(options.state ?? defaultStateDir(), LEDGER_FILE));
}
