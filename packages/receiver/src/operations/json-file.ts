import { open, readdir, rename, rm } from 'node:fs/promises';
import * as path from 'node:path';

let writes = 0;
const TEMP_SUFFIX = /\.json\.\d+\.\d+\.tmp$/;
/** Written out in pieces of about this size: a report of a million entries is never one string. */
const FLUSH_BYTES = 256 * 1024;

const isAsyncIterable = (v: unknown): v is AsyncIterable<unknown> =>
  typeof v === 'object' && v !== null && Symbol.asyncIterator in v;

/** JSON.stringify(v, null, 2), indented to sit at `depth` levels. */
const pretty = (v: unknown, depth: number) => JSON.stringify(v, null, 2).replaceAll('\n', '\n' + '  '.repeat(depth));

/**
 * Writes JSON through a uniquely named temp file and a rename: readers never see half a file. The
 * text is what JSON.stringify(value, null, 2) gives, but a top-level value that is an async
 * iterable is drawn and written entry by entry, so memory does not grow with it. Returns how many
 * entries each streamed value had. A temp file that could not be written or renamed (a full disk)
 * is removed, not left behind.
 */
export async function writeJsonAtomic(target: string, value: object): Promise<Record<string, number>> {
  const temp = `${target}.${process.pid}.${++writes}.tmp`;
  const counts: Record<string, number> = {};
  try {
    const fh = await open(temp, 'w');
    try {
      let pending = '';
      const put = async (text: string) => {
        pending += text;
        if (pending.length >= FLUSH_BYTES) {
          await fh.write(pending);
          pending = '';
        }
      };
      const entries = Object.entries(value).filter(([, v]) => v !== undefined);
      await put('{');
      for (const [i, [key, v]] of entries.entries()) {
        await put(`${i ? ',' : ''}\n  ${JSON.stringify(key)}: `);
        if (!isAsyncIterable(v)) {
          await put(pretty(v, 1));
          continue;
        }
        let n = 0;
        for await (const entry of v) await put(`${n++ ? ',' : '['}\n    ${pretty(entry, 2)}`);
        await put(n ? '\n  ]' : '[]');
        counts[key] = n;
      }
      await put(entries.length ? '\n}\n' : '}\n');
      await fh.write(pending);
    } finally {
      await fh.close();
    }
    await rename(temp, target);
    return counts;
  } catch (err) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** Removes the JSON temp files a killed receiver left in `dir`. */
export async function removeStaleJsonTemps(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (TEMP_SUFFIX.test(name)) await rm(path.join(dir, name), { force: true }).catch(() => undefined);
  }
}
