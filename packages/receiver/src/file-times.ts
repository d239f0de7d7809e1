import { utimesSync } from 'node:fs';

/**
 * Sets a file's atime and mtime to the sender's mtime, before 1970 and after 2038 alike.
 * The seconds go to fs.utimes as a decimal string: Node replaces a negative number by "now",
 * and a string keeps every digit up to libuv, which keeps microseconds.
 */
export function setFileTimes(file: string | Buffer, meta: { mtimeMs: number; mtimeNs?: bigint }): void {
  const seconds = meta.mtimeNs === undefined ? String(meta.mtimeMs / 1000) : secondsOf(meta.mtimeNs);
  utimesSync(file, seconds as unknown as number, seconds as unknown as number);
}

/** -1500000000n -> "-1.500000000": exact, with no floating point on the way. */
export function secondsOf(ns: bigint): string {
  const sign = ns < 0n ? '-' : '';
  const abs = ns < 0n ? -ns : ns;
  return `${sign}${abs / 1_000_000_000n}.${(abs % 1_000_000_000n).toString().padStart(9, '0')}`;
}
