import type { Argv } from 'yargs';
import { UsageError, dashValuesGlued } from './cli-args.js';
import { wrapHelp } from './help-format.js';

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
 * Columns of --help: the terminal's (at most 120, for lines one can read), else $COLUMNS, else 80;
 * COLUMNS=0 means no wrapping (one line per option, for the README generator).
 */
export function helpWidth(): number | null {
  if (process.stdout.isTTY && process.stdout.columns) return Math.min(process.stdout.columns, 120);
  const columns = process.env.COLUMNS;
  if (columns !== undefined && /^\d+$/.test(columns.trim())) return Number(columns) === 0 ? null : Number(columns);
  return 80;
}

/**
 * The command-line parser every program starts from: named `program` in its help, strict about
 * unknown options, --help wrapped at helpWidth(), --version printing `version` (none without
 * one), a value that starts with a dash glued to its option ("--rate -5m" is a value, which the
 * option's check then refuses, not two flags), and every parse error a UsageError on one line
 * (yargs spreads some, such as invalid choices, over several). yargs is loaded here, on call, so
 * importing the kit does not load it.
 */
export async function commandLine(program: string, args: readonly string[] = process.argv.slice(2), version?: string): Promise<Argv> {
  const { default: yargs } = await import('yargs');
  const parser = yargs(dashValuesGlued([...args]))
    .scriptName(program)
    .strict()
    .help()
    .wrap(null)
    .fail((msg, err) => {
      throw new UsageError((msg ?? err?.message ?? 'invalid arguments').replace(/\s*\n\s*/g, ' '));
    });
  // yargs prints --help with console.log: we take its unwrapped text and wrap it ourselves (help-format.ts).
  const width = helpWidth();
  const parseAsync = parser.parseAsync.bind(parser);
  Object.assign(parser, {
    parseAsync: async (...rest: Parameters<typeof parseAsync>) => {
      const print = console.log;
      console.log = (...parts: unknown[]) => print(wrapHelp(parts.map(String).join(' '), width));
      try {
        return await parseAsync(...rest);
      } finally {
        console.log = print;
      }
    },
  });
  return version === undefined ? parser.version(false) : parser.version(version);
}
