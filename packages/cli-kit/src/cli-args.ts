/** A mistake in what the user asked for: the CLIs print its message on one line and exit 1. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Runs a parser and turns whatever it throws into a UsageError with the same one-line message. */
export function parseOrUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** yargs reads a lone '-' as a positional; "OPTION -" means stdio, so glue it to its option (each time it is given). */
export function stdioDashAsValue(args: string[], option: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === option && args[i + 1] === '-') {
      out.push(`${option}=-`);
      i++;
    } else out.push(args[i]!);
  }
  return out;
}

/**
 * yargs reads "--rate -5m" as the flags -5 and -m ("Unknown arguments: 5, m"): glue a value that
 * starts with a dash and a digit to the option before it, so the option's own check names it.
 */
export function dashValuesGlued(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return [...out, ...args.slice(i)];
    const next = args[i + 1];
    if (/^--?[a-zA-Z][\w-]*$/.test(arg) && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}
