import picomatch from 'picomatch';

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
