import type { Argv } from 'yargs';
import { UsageError } from './cli-args.js';

/**
 * Ends the program: "PROGRAM: error: MESSAGE" on one line of stderr, then exit with `code`
 * (1: what the user asked for is wrong; 2: the job itself did not complete).
 */
export function fail(program: string, message: string, code = 1): never {
  process.stderr.write(`${program}: error: ${message}\n`);
  process.exit(code);
}

/** How a program words an error it knows, and its exit code; undefined for one it does not know. */
export type ExplainError = (err: unknown) => { message: string; code: number } | undefined;

/**
 * Runs a program's main and turns what it throws into `fail`: a UsageError with its message and
 * exit 1, an error `explain` knows as it says, anything else with its message and exit 1 (and its
 * stack on stderr when DIODESYNC_DEBUG is set).
 */
export function runMain(program: string, main: () => Promise<void>, explain?: ExplainError): void {
  main().catch((err: unknown) => {
    if (err instanceof UsageError) fail(program, err.message);
    const known = explain?.(err);
    if (known) fail(program, known.message, known.code);
    const e = err as NodeJS.ErrnoException | undefined;
    if (process.env.DIODESYNC_DEBUG) process.stderr.write(`${e?.stack}\n`);
    fail(program, String(e?.message ?? e));
  });
}

/**
 * The command-line parser every program starts from: named `program` in its help, strict about
 * unknown options, --help but no --version, and every parse error a UsageError on one line
 * (yargs spreads some, such as invalid choices, over several). yargs is loaded here, on call, so
 * importing the kit does not load it.
 */
export async function commandLine(program: string, args: readonly string[] = process.argv.slice(2)): Promise<Argv> {
  const { default: yargs } = await import('yargs');
  return yargs([...args])
    .scriptName(program)
    .strict()
    .help()
    .version(false)
    .fail((msg, err) => {
      throw new UsageError((msg ?? err?.message ?? 'invalid arguments').replace(/\s*\n\s*/g, ' '));
    });
}
