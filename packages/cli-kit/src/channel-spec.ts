import { channelNameProblem } from '@diodesync/protocol';
import { parseEndpoint, type Endpoint, type Scheme } from './endpoint.js';

/** Most pass-through channels one sender or receiver carries. */
export const MAX_CHANNELS = 64;

/** `NAME=URL` of --forward (sender) or --deliver (receiver); `file:DIR` only where allowed. */
export type ChannelSpec =
  | { name: string; text: string; kind: 'endpoint'; endpoint: Endpoint }
  | { name: string; text: string; kind: 'file'; dir: string };

/** Parses one `NAME=URL`; throws a one-line RangeError naming what is wrong. */
export function parseChannelSpec(text: string, schemes: readonly Scheme[], allowFile: boolean): ChannelSpec {
  const eq = text.indexOf('=');
  const shown = [...schemes.map((s) => `${s}://HOST:PORT`), ...(allowFile ? ['file:DIR'] : [])].join(', ');
  if (eq < 1) throw new RangeError(`invalid channel '${text}': expected NAME=URL with URL one of ${shown}`);
  const name = text.slice(0, eq);
  const target = text.slice(eq + 1);
  const problem = channelNameProblem(name);
  if (problem) throw new RangeError(`invalid channel name '${name}': ${problem}`);
  if (target.startsWith('file:')) {
    if (!allowFile) throw new RangeError(`invalid channel '${text}': file: is not supported here; use ${shown}`);
    const dir = target.slice('file:'.length);
    if (dir === '') throw new RangeError(`invalid channel '${text}': file: needs a directory`);
    return { name, text, kind: 'file', dir };
  }
  try {
    return { name, text, kind: 'endpoint', endpoint: parseEndpoint(target, schemes) };
  } catch (err) {
    throw new RangeError(`invalid channel '${text}': ${(err as Error).message}`);
  }
}

/** Parses every spec of a repeatable option: names unique, at most MAX_CHANNELS. */
export function parseChannelSpecs(option: string, texts: readonly string[], schemes: readonly Scheme[], allowFile: boolean): ChannelSpec[] {
  if (texts.length > MAX_CHANNELS) throw new RangeError(`--${option}: at most ${MAX_CHANNELS} channels`);
  const specs = texts.map((t) => parseChannelSpec(t, schemes, allowFile));
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.name)) throw new RangeError(`--${option}: channel '${s.name}' given twice`);
    seen.add(s.name);
  }
  return specs;
}
