import * as path from 'node:path';

const MAX_PATH_BYTES = 4096;
const MAX_NAME_BYTES = 255;
// Control characters, and characters that change meaning on other systems (\ on Windows).
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f\\]/;

/**
 * Checks a relative path from the wire. Returns the reason it is refused, or undefined if safe:
 * no absolute paths, no '..' or '.', no empty segments, no control characters, no backslashes,
 * no drive letters, no over-long names.
 */
export function unsafePathReason(rel: string): string | undefined {
  if (rel.length === 0) return 'empty path';
  if (Buffer.byteLength(rel) > MAX_PATH_BYTES) return 'path too long';
  if (FORBIDDEN.test(rel)) return 'control character or backslash';
  if (rel.startsWith('/')) return 'absolute path';
  if (/^[a-zA-Z]:/.test(rel)) return 'drive letter';
  for (const segment of rel.split('/')) {
    if (segment === '') return 'empty segment';
    if (segment === '.' || segment === '..') return 'dot segment';
    if (Buffer.byteLength(segment) > MAX_NAME_BYTES) return 'name too long';
  }
  return undefined;
}

/** Joins a checked relative path onto the destination root. */
export function destPath(destRoot: string, rel: string): string {
  return path.join(destRoot, ...rel.split('/'));
}

/** True if `candidate` (a resolved real path) is `root` or inside it. */
export function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}
