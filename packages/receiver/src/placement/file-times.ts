import { setFileTimes as setTimesNs } from '@diodesync/native';

/**
 * Sets a file's atime and mtime to the sender's mtime, exactly to the nanosecond through the
 * native addon (utimensat), or to the microsecond through its pure-Node fallback; before 1970
 * and after 2038 alike.
 */
export function setFileTimes(file: string | Buffer, meta: { mtimeMs: number; mtimeNs?: bigint }): void {
  const ns = meta.mtimeNs ?? BigInt(Math.round(meta.mtimeMs * 1e6));
  setTimesNs(file, ns, ns);
}
