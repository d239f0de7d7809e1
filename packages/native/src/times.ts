// setFileTimes: set a file's atime and mtime from bigint nanoseconds.
import { utimesSync } from 'node:fs';
import { getSystemErrorMap } from 'node:util';
import { binding } from './binding.js';

const NS_PER_US = 1000n;
const NS_PER_S = 1_000_000_000n;

/** Decimal seconds, exact: -1_500_000_000n -> "-1.500000000". */
export function nsToSecondsString(ns: bigint): string {
  const abs = ns < 0n ? -ns : ns;
  return `${ns < 0n ? '-' : ''}${abs / NS_PER_S}.${(abs % NS_PER_S).toString().padStart(9, '0')}`;
}

/**
 * What the fallback passes fs.utimes so that the file gets `ns` floored to the
 * microsecond (the timespec's tv_nsec truncated). fs.utimes takes a string of
 * decimal seconds as a number (a negative *number* it would replace by "now"),
 * and libuv truncates the double towards zero to microseconds. The exact value
 * would land one microsecond short about half the time (the nearest double of
 * x.123457 may be x.1234569999…) and round towards zero before 1970, so this
 * aims at the middle of the wanted microsecond: floor + 0.5 µs, or floor - 0.5 µs
 * below zero, which the double's rounding (half an ulp: < 0.5 µs while
 * |time| < 2^33 s) cannot push out of it.
 */
export function fallbackSecondsString(ns: bigint): string {
  let floorUs = ns / NS_PER_US;
  if (ns < 0n && ns % NS_PER_US !== 0n) floorUs -= 1n;
  const floor = floorUs * NS_PER_US;
  return nsToSecondsString(floor < 0n ? floor - NS_PER_US / 2n : floor + NS_PER_US / 2n);
}

/**
 * The pure-Node setFileTimes: fs.utimesSync. Exact to the microsecond only
 * (the time floored to the µs), and only for |time| < 2^33 s (years 1697..2242),
 * beyond which a double of seconds cannot hold microseconds.
 */
export function setFileTimesFallback(path: string | Buffer, atimeNs: bigint, mtimeNs: bigint): void {
  utimesSync(path, fallbackSecondsString(atimeNs), fallbackSecondsString(mtimeNs));
}

/** A Node-style system error: `ENOENT: no such file or directory, utimensat '/x'`, with errno, code, syscall, path. */
function systemError(errno: number, syscall: string, path: string | Buffer): NodeJS.ErrnoException {
  const [code, description] = getSystemErrorMap().get(-errno) ?? [`E${errno}`, `unknown error ${errno}`];
  const p = path.toString();
  const err: NodeJS.ErrnoException = new Error(`${code}: ${description}, ${syscall} '${p}'`);
  err.errno = -errno;
  err.code = code;
  err.syscall = syscall;
  err.path = p;
  return err;
}

function setFileTimesNative(path: string | Buffer, atimeNs: bigint, mtimeNs: bigint): void {
  const errno = binding!.setFileTimes(path, atimeNs, mtimeNs);
  if (errno !== 0) throw systemError(errno, 'utimensat', path);
}

/**
 * Set a file's access and modification times, in nanoseconds since the epoch
 * (negative before 1970), following symlinks. With the addon: utimensat(2),
 * exact to the nanosecond for any 64-bit time_t. Without it:
 * {@link setFileTimesFallback}, exact to the microsecond. Throws Node-style
 * errors with `code` (ENOENT, EACCES, ...). A Buffer path is taken as raw bytes.
 */
export const setFileTimes: (path: string | Buffer, atimeNs: bigint, mtimeNs: bigint) => void =
  binding ? setFileTimesNative : setFileTimesFallback;
