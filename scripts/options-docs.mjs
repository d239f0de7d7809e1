#!/usr/bin/env node
// The README's option tables, generated from the CLIs' own yargs definitions: each built CLI
// prints its --help unwrapped (COLUMNS=0), and each option line becomes a table row between the
// README's marker comments <!-- options:NAME --> and <!-- /options:NAME --> (NAME: the program, or
// PROGRAM-COMMAND for a subcommand such as diode-send-ledger; a new subcommand needs its markers).
//   node scripts/options-docs.mjs [README]          rewrite the tables (npm run docs:options)
//   node scripts/options-docs.mjs --check [README]  exit 1 if a table differs from the CLIs
// Run `npx tsc -b` first: the CLIs are read from dist/.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('..', import.meta.url);
const cli = (path) => fileURLToPath(new URL(path, root));

/** The CLIs; each subcommand their --help lists ("Commands:") gets a table of its own, named PROGRAM-COMMAND. */
export const PROGRAMS = [
  { name: 'diode-send', cli: cli('packages/sender/dist/cli.js') },
  { name: 'diode-receive', cli: cli('packages/receiver/dist/cli.js') },
  { name: 'diode-impair', cli: cli('packages/impair/dist/impair-cli.js') },
];

/** The subcommands a help lists, without the default command: "  diode-send ledger <action>  read ..." -> 'ledger'. */
export function parseCommands(help) {
  const lines = help.split('\n');
  const start = lines.indexOf('Commands:');
  if (start < 0) return [];
  const commands = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith(' ')) break;
    const [, word] = line.trim().split(/\s+/);
    if (word && /^[a-z]/.test(word) && !/\[default\]$/.test(line.trim())) commands.push(word);
  }
  return commands;
}

/** The help as a reader of the README would see it with a plain environment: no home directory of ours in the defaults. */
function helpText(file, args) {
  const env = { PATH: process.env.PATH, HOME: '~', COLUMNS: '0', LANG: 'C' };
  const run = spawnSync(process.execPath, [file, ...args, '--help'], { env, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${file} ${args.join(' ')} --help failed (${run.status}): ${run.stderr.trim() || 'did you run npx tsc -b?'}`);
  return run.stdout;
}

/** The option lines of a help text, as { option, type, required, default, choices, meaning }. */
export function parseOptions(help) {
  const lines = help.split('\n');
  const start = lines.indexOf('Options:');
  if (start < 0) throw new Error('no "Options:" section in the help');
  const options = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith(' ')) break;
    const match = /^\s+(-\S*(?:, -\S+)*)(?:\s{2,}(.*))?$/.exec(line);
    if (!match) throw new Error(`cannot read the help line: ${line}`);
    let rest = ` ${match[2] ?? ''}`;
    const extras = [];
    // Take the [...] groups off the end, one by one.
    for (;;) {
      const tail = /\s+(\[(?:string|number|boolean|array|count|required|deprecated|default: .*|choices: .*)\])$/.exec(rest);
      if (!tail) break;
      const group = tail[1];
      // "[choices: "a", "b"] [default: "a"]": the greedy .* may swallow several groups; split at "] [".
      const split = group.lastIndexOf('] [');
      const last = split >= 0 ? group.slice(split + 2) : group;
      extras.unshift(last);
      rest = rest.slice(0, rest.length - last.length).trimEnd();
    }
    const option = { option: match[1], meaning: rest.trim(), type: undefined, required: false, default: undefined, choices: undefined };
    for (const extra of extras) {
      const body = extra.slice(1, -1);
      if (body === 'required') option.required = true;
      else if (body.startsWith('default: ')) option.default = body.slice(9);
      else if (body.startsWith('choices: ')) option.choices = body.slice(9);
      else option.type = body;
    }
    options.push(option);
  }
  return options;
}

// Markdown would read '**' as bold and '<state>' as a tag.
const cell = (text) => text.replace(/[|*]/g, '\\$&').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const code = (text) => `\`${text.replace(/^"(.*)"$/, '$1')}\``;

function row(o) {
  let value = '';
  if (o.required) value = '(required)';
  else if (o.default === 'false') value = 'off';
  else if (o.default !== undefined) value = code(o.default);
  let meaning = o.meaning;
  if (o.choices) meaning += `; one of ${o.choices.split(', ').map(code).join(', ')}`;
  if (o.type === 'array' && !meaning.includes('repeatable')) meaning += ' (repeatable)';
  return `| ${code(o.option)} | ${cell(value)} | ${cell(meaning)} |`;
}

/** Every table, rendered: { name -> markdown }. A subcommand's table leaves out the rows its program's table has. */
export function renderTables() {
  const tables = new Map();
  const table = (lines) => ['| option | default | meaning |', '|---|---|---|', ...lines].join('\n');
  for (const program of PROGRAMS) {
    const help = helpText(program.cli, []);
    const rows = parseOptions(help).map(row);
    tables.set(program.name, table(rows));
    for (const command of parseCommands(help)) {
      const own = parseOptions(helpText(program.cli, [command])).map(row).filter((r) => !rows.includes(r));
      tables.set(`${program.name}-${command}`, table(own));
    }
  }
  return tables;
}

/** The README with every marked table replaced; throws if a table's markers are missing. */
export function rewriteReadme(text, tables) {
  let out = text;
  for (const [name, table] of tables) {
    const pattern = new RegExp(`(<!-- options:${name} -->\\n)[\\s\\S]*?(<!-- /options:${name} -->)`);
    if (!pattern.test(out)) throw new Error(`README has no <!-- options:${name} --> ... <!-- /options:${name} --> markers`);
    out = out.replace(pattern, (_, open, close) => `${open}${table}\n${close}`);
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes('--check');
  const file = process.argv.slice(2).find((a) => a !== '--check') ?? fileURLToPath(new URL('README.md', root));
  try {
    const text = readFileSync(file, 'utf8');
    const wanted = rewriteReadme(text, renderTables());
    if (check) {
      if (wanted !== text) {
        const differing = wanted.split('\n').find((line, i) => line !== text.split('\n')[i]);
        process.stderr.write(`options-docs: ${file} differs from the CLIs' options (first: ${differing}); run npm run docs:options\n`);
        process.exit(1);
      }
    } else if (wanted !== text) {
      writeFileSync(file, wanted);
      process.stderr.write(`options-docs: rewrote the option tables of ${file}\n`);
    }
  } catch (err) {
    process.stderr.write(`options-docs: error: ${err.message}\n`);
    process.exit(1);
  }
}
