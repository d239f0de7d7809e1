/**
 * Wraps yargs' help, printed unwrapped, to `width` columns at spaces only. yargs' own wrapping
 * (cliui) cuts a word longer than its column in half ("tcp-list / en://HOST:PORT") and glues a
 * description that fills its column to the type after it ("2s)[string]"); here a word is never
 * cut: one longer than the line stays whole and overflows.
 */
export function wrapHelp(text: string, width: number | null): string {
  if (width === null) return text;
  return text.split('\n').map((line) => wrapLine(line, width)).join('\n');
}

/** A description column narrower than this moves under its option, indented by NARROW_INDENT. */
const MIN_DESCRIPTION = 24;
const NARROW_INDENT = 6;

function wrapLine(line: string, width: number): string {
  if (line.length <= width) return line;
  // "  -c, --resume      text": the option or command (single spaces inside), then 2+ spaces, then the text.
  const columns = /^(\s*\S+(?: \S+)*\s{2,})(\S.*)$/.exec(line);
  if (!columns) {
    const leading = /^\s*/.exec(line)![0];
    return fill(line.slice(leading.length), leading, leading, width);
  }
  const head = columns[1]!;
  if (head.length <= width - MIN_DESCRIPTION) return fill(columns[2]!, head, ' '.repeat(head.length), width);
  const indent = ' '.repeat(Math.min(NARROW_INDENT, head.length));
  return `${head.trimEnd()}\n${fill(columns[2]!, indent, indent, width)}`;
}

/** Greedy fill: words joined by one space, lines of at most `width` unless a single word is longer. */
function fill(text: string, first: string, indent: string, width: number): string {
  const lines: string[] = [];
  let current = first;
  let empty = true;
  // yargs' "[default: X]" stays whole, as a reader (and a grep) looks for it whole.
  for (const word of text.match(/\[default: [^\]]*\]|\S+/g) ?? []) {
    if (!empty && current.length + 1 + word.length > width) {
      lines.push(current);
      current = indent;
      empty = true;
    }
    current += (empty ? '' : ' ') + word;
    empty = false;
  }
  lines.push(current);
  return lines.join('\n');
}
