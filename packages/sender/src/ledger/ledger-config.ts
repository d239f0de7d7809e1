/**
 * `diode-send ledger ... --config send.json`: the ledger commands read the same config file as
 * the sending run, so an operator finds the service's ledger without retyping --state/--ledger.
 * They take only the keys they share with it; the rest (to, rate, ...) would be unknown options.
 */
const LEDGER_KEYS = ['state', 'ledger'];
/** Options before the command word that take a value. */
const GLOBAL_WITH_VALUE = new Set(['--state', '--ledger', '--config']);

/** True when the command line asks for `diode-send ledger ...`. */
export function isLedgerCommand(args: readonly string[]): boolean {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (GLOBAL_WITH_VALUE.has(arg)) i++;
    else if (!arg.startsWith('-')) return arg === 'ledger';
  }
  return false;
}

/** The part of a config file the ledger commands take. */
export function ledgerConfig(config: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).filter(([key]) => LEDGER_KEYS.includes(key)));
}
