/** One of several links given as repeated --listen or --to: a name for logs, status and metrics, and its address. */
export interface NamedLink<E> {
  /** NAME from `NAME=URL`, or the URL itself. */
  name: string;
  url: string;
  endpoint: E;
}

/** A name is a word (letters, digits, `_ . -`); a URL never matches, as its scheme ends in ':'. */
const NAMED = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,63})=(.+)$/;

/**
 * Parses the values of a repeatable address option, each `URL` or `NAME=URL`, with the caller's
 * parser for the URL (so any kind of link can be one of several). Names must differ; '-' (stdio)
 * can be only one of them (the same socket address twice fails when it is opened). Throws a
 * one-line RangeError.
 */
export function parseNamedLinks<E>(values: readonly string[], parse: (url: string) => E, option: string): NamedLink<E>[] {
  if (values.length === 0) throw new RangeError(`${option} needs an address`);
  const links = values.map((value) => {
    const match = NAMED.exec(value);
    const url = match ? match[2]! : value;
    return { name: match ? match[1]! : value, url, endpoint: parse(url) };
  });
  const seen = new Set<string>();
  for (const { name, url } of links) {
    if (seen.has(name)) throw new RangeError(`${option}: the link name '${name}' is given twice`);
    seen.add(name);
  }
  if (links.filter((l) => l.url === '-').length > 1) throw new RangeError(`${option}: '-' (stdio) can be only one of the links`);
  return links;
}
