// Loads the addon (build/Release/diodesync_native.node, compiled by node-gyp on
// npm install) once, or records why not; every caller then takes its
// pure-Node fallback.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The addon's raw functions (the wrappers in this package are the API). */
export interface NativeBinding {
  /** utimensat(AT_FDCWD, path, [atime, mtime], 0): 0, or the errno. */
  setFileTimes(path: string | Buffer, atimeNs: bigint, mtimeNs: bigint): number;
}

export interface NativeIo {
  /** true when the addon is loaded and the native paths run. */
  readonly available: boolean;
  /** Why not, when not; which file was loaded, when it was. */
  readonly reason: string;
}

const ADDON_FILE = fileURLToPath(new URL('../build/Release/diodesync_native.node', import.meta.url));
const NOT_BUILT_FILE = fileURLToPath(new URL('../build/not-built.txt', import.meta.url));
const FUNCTIONS: readonly (keyof NativeBinding)[] = ['setFileTimes'];

function load(): { binding: NativeBinding | undefined; io: NativeIo } {
  const off = (reason: string) => ({ binding: undefined, io: { available: false, reason } });
  if (process.env.DIODESYNC_NATIVE === '0') return off('disabled by DIODESYNC_NATIVE=0');
  let mod: Partial<NativeBinding>;
  try {
    mod = createRequire(import.meta.url)(ADDON_FILE) as Partial<NativeBinding>;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'MODULE_NOT_FOUND') {
      let why: string;
      try {
        why = readFileSync(NOT_BUILT_FILE, 'utf8').trim(); // left by scripts/build-addon.mjs
      } catch {
        why = `${ADDON_FILE} is missing`;
      }
      return off(`addon not built: ${why}; \`npm run build:addon -w @diodesync/native\` builds it or shows why not`);
    }
    return off(`addon failed to load: ${e.message.split('\n')[0]}`);
  }
  const missing = FUNCTIONS.filter((name) => typeof mod[name] !== 'function');
  if (missing.length > 0) {
    return off(`addon ${ADDON_FILE} lacks ${missing.join(', ')} (stale build? run npm rebuild)`);
  }
  return { binding: mod as NativeBinding, io: { available: true, reason: `addon loaded from ${ADDON_FILE}` } };
}

const loaded = load();

/** The addon, or undefined when the fallbacks run. */
export const binding: NativeBinding | undefined = loaded.binding;

/** Whether the native paths run, and why not when not. DIODESYNC_NATIVE=0 turns them off. */
export const nativeIo: NativeIo = Object.freeze(loaded.io);
