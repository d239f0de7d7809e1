import picomatch from 'picomatch';

/** Names that editors and copy tools use while a file is still being written. */
const TEMPORARY = [/\.tmp$/i, /\.part$/i, /^~\$/];

export function isTemporaryName(name: string): boolean {
  return TEMPORARY.some((re) => re.test(name));
}

/** Which relative paths are mirrored: not temporary, matching an --include (if any), no --exclude. */
export type TreeFilter = (relPath: string) => boolean;

export function treeFilter(include: readonly string[] = [], exclude: readonly string[] = []): TreeFilter {
  const options = { dot: true };
  const included = include.length ? picomatch(include as string[], options) : () => true;
  const excluded = exclude.length ? picomatch(exclude as string[], options) : () => false;
  return (relPath) => !isTemporaryName(relPath.slice(relPath.lastIndexOf('/') + 1)) && included(relPath) && !excluded(relPath);
}
