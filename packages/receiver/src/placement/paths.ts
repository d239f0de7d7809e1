import * as path from 'node:path';
import { hasEscapedBytes, pathToBytes } from '@diodesync/protocol';

const MAX_PATH_BYTES = 4096;
const MAX_NAME_BYTES = 255;

/**
 * Checks a relative path from the wire. Returns the reason it is refused, or undefined if safe.
 * Any name Linux allows is carried (any byte but '/' and NUL, valid UTF-8 or not); refused are
 * only what could leave the tree or cannot be a name: absolute paths, '.' and '..', empty
 * segments, NUL, and names or paths longer than the kernel takes.
 */
export function unsafePathReason(rel: string): string | undefined {
  if (rel.length === 0) return 'empty path';
  if (rel.includes('\0')) return 'NUL byte';
  if (rel.startsWith('/')) return 'absolute path';
  if (byteLength(rel) > MAX_PATH_BYTES) return 'path too long';
  for (const segment of rel.split('/')) {
    if (segment === '') return 'empty segment';
    if (segment === '.' || segment === '..') return 'dot segment';
    if (byteLength(segment) > MAX_NAME_BYTES) return 'name too long';
  }
  return undefined;
}

// eslint-disable-next-line no-control-regex
const NOT_ON_WINDOWS = /[\u0000-\u001f<>:"|?*\\]/;
const RESERVED_ON_WINDOWS = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

/**
 * --portable-names: why Windows could not hold this (already safe) path, or undefined.
 * Such a name is refused, never rewritten: a mirror must not hold a name the source lacks.
 */
export function unportableNameReason(rel: string): string | undefined {
  if (hasEscapedBytes(rel)) return 'not valid UTF-8';
  for (const segment of rel.split('/')) {
    if (NOT_ON_WINDOWS.test(segment)) return 'character Windows forbids (control, < > : " | ? * \\)';
    if (RESERVED_ON_WINDOWS.test(segment)) return 'name Windows reserves (CON, PRN, AUX, NUL, COM1-9, LPT1-9)';
    if (/[. ]$/.test(segment)) return 'name ending in a dot or a space';
  }
  return undefined;
}

/** Why the receiver will not create this path from the wire (unsafe, or not portable with --portable-names), or undefined. */
export function pathRefusal(rel: string, portableNames: boolean): string | undefined {
  const unsafe = unsafePathReason(rel);
  if (unsafe) return `bad path: ${unsafe}`;
  const unportable = portableNames ? unportableNameReason(rel) : undefined;
  return unportable && `not portable: ${unportable}`;
}

/** A refusal that the next pass cannot change. */
export const isPermanentRefusal = (reason: string | undefined): boolean => !!reason && /^(bad path|not portable):/.test(reason);

function byteLength(s: string): number {
  return hasEscapedBytes(s) ? pathToBytes(s).length : Buffer.byteLength(s);
}

/** Joins a checked relative path onto the destination root (a string; see fsPath for the file system). */
export function destPath(destRoot: string, rel: string): string {
  return path.join(destRoot, ...rel.split('/'));
}

/** True if `candidate` (a resolved real path) is `root` or inside it. */
export function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}
