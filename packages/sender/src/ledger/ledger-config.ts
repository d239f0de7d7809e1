import { commandWord, pickKeys } from '@diodesync/cli-kit';

/**
 * `diode-send ledger ... --config send.json`: the ledger commands read the same config file as
 * the sending run, so an operator finds the service's ledger without retyping --state/--ledger.
 * They take only the keys they share with it; the rest (to, rate, ...) would be unknown options.
 */
const LEDGER_KEYS = ['state', 'ledger'];
/** Options before the command word that take a value. */
const GLOBAL_WITH_VALUE = ['--state', '--ledger', '--config'];

/** True when the command line asks for `diode-send ledger ...`. */
export function isLedgerCommand(args: readonly string[]): boolean {
  return commandWord(args, GLOBAL_WITH_VALUE) === 'ledger';
}

/** The part of a config file the ledger commands take; its source-dir picks that tree's ledger. */
export function ledgerConfig(config: Record<string, unknown>): Record<string, unknown> {
  const picked = pickKeys(config, LEDGER_KEYS);
  return config['source-dir'] === undefined ? picked : { ...picked, source: config['source-dir'] };
}
