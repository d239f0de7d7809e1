import picomatch from 'picomatch';
import { UsageError } from '@diodesync/cli-kit';

/** Names that editors and copy tools use while a file is still being written. */
const TEMPORARY = [/\.tmp$/i, /\.part$/i, /^~\$/];

export function isTemporaryName(name: string): boolean {
  return TEMPORARY.some((re) => re.test(name));
}

/** Why a relative path is not mirrored (temporary name, not in --include, in --exclude), or undefined if it is. */
export type TreeFilter = (relPath: string) => string | undefined;

export function treeFilter(include: readonly string[] = [], exclude: readonly string[] = []): TreeFilter {
  const options = { dot: true };
  const included = include.length ? picomatch(include as string[], options) : () => true;
  const excluded = exclude.length ? picomatch(exclude as string[], options) : () => false;
  return (relPath) => {
    if (isTemporaryName(relPath.slice(relPath.lastIndexOf('/') + 1))) return 'temporary name (*.tmp, *.part, ~$*)';
    if (!included(relPath)) return 'not matched by --include';
    if (excluded(relPath)) return 'matched by --exclude';
    return undefined;
  };
}

/**
 * A glob as given to `option`, refused when it cannot be what was meant: an unclosed `[`, `{` or
 * `(` would otherwise match nothing, and a tree would be "sent" empty with exit 0.
 */
export function checkedGlob(option: string, glob: string): string {
  if (glob === '') throw new UsageError(`${option}: empty glob; e.g. ${option} 'docs/**'`);
  try {
    picomatch.makeRe(glob, { dot: true, strictBrackets: true });
  } catch (err) {
    throw new UsageError(`${option} '${glob}': not a valid glob: ${(err as Error).message}`);
  }
  return glob;
}
