import { readFileSync } from 'node:fs';
import { UsageError } from './cli-args.js';

/**
 * The --config loader both CLIs give yargs (`.config('config', help, readConfigFile)`): a JSON
 * object whose keys are the long option names (positionals too: "source-dir", "dest-dir"), with
 * // and /* *\/ comments and trailing commas allowed, so that an example file can explain itself
 * and a line can be commented out or in on its own. Every failure is a
 * UsageError on one line that names the file; yargs would otherwise say "Invalid JSON" for a
 * file that is simply missing.
 */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`config file not found: ${file}`);
    if (code === 'EISDIR') throw new UsageError(`config file ${file} is a directory`);
    throw new UsageError(`cannot read config file ${file}: ${code ?? (err as Error).message}`);
  }
  return parseConfigText(text, file);
}

/** Parses the text of a config file (JSON with comments); `file` only names it in errors. */
export function parseConfigText(text: string, file: string): Record<string, unknown> {
  const json = stripTrailingCommas(stripJsonComments(text.replace(/^\uFEFF/, '')));
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new UsageError(`config file ${file}: invalid JSON${where(json, err as Error)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`config file ${file}: must hold one JSON object whose keys are long option names`);
  }
  return value as Record<string, unknown>;
}

/**
 * Blanks out // and /* *\/ comments outside strings, keeping every newline and column, so the
 * positions JSON.parse reports are still those of the file.
 */
export function stripJsonComments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      // A string, escapes included: copied as is.
      const end = stringEnd(text, i);
      out += text.slice(i, end);
      i = end;
    } else if (c === '/' && text[i + 1] === '/') {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? text.length : end;
      out += ' '.repeat(stop - i);
      i = stop;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Blanks out a comma that only whitespace separates from a closing } or ] (outside strings). */
export function stripTrailingCommas(json: string): string {
  let out = '';
  let i = 0;
  while (i < json.length) {
    const c = json[i]!;
    if (c === '"') {
      const end = stringEnd(json, i);
      out += json.slice(i, end);
      i = end;
      continue;
    }
    let next = i + 1;
    if (c === ',') while (next < json.length && /\s/.test(json[next]!)) next++;
    out += c === ',' && (json[next] === '}' || json[next] === ']') ? ' ' : c;
    i++;
  }
  return out;
}

/** Where the JSON string that starts at `start` (a quote) ends: after its closing quote, or at a newline. */
function stringEnd(text: string, start: number): number {
  let j = start + 1;
  while (j < text.length && text[j] !== '"' && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
  return j + 1;
}

/** ": line L column C: what JSON.parse said", where the message gives a position. */
function where(json: string, err: Error): string {
  const reason = err.message.replace(/\s*\n\s*/g, ' ');
  const at = /position (\d+)/.exec(reason);
  if (!at) return `: ${reason}`;
  const before = json.slice(0, Number(at[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `: line ${line} column ${column}: ${reason.replace(/\s*(in JSON )?at position \d+.*$/, '')}`;
}

/**
 * The command word of a command line (`ledger`, `status`): its first word that is neither an
 * option nor the value of one of `optionsWithValue`. A subcommand takes only some keys of the
 * service's config file (see `pickKeys`), so the CLI must know which runs before yargs does.
 */
export function commandWord(args: readonly string[], optionsWithValue: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (optionsWithValue.includes(arg)) i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/** Only the given keys of a config: a subcommand would call the others unknown options. */
export function pickKeys(config: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).filter(([key]) => keys.includes(key)));
}
