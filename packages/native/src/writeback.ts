// startWriteback: have the kernel start writing a file's dirty pages to disk now, without
// waiting for them, so that the fdatasync that ends a large file finds little left to write.
import { binding } from './binding.js';

/** Which path startWriteback takes here: the addon's sync_file_range, or the fallback, which does nothing. */
export const writebackPath: string = binding?.startWriteback
  ? 'sync_file_range'
  : `none (${binding ? 'the addon has no startWriteback: not Linux, or a stale build' : 'native addon not used'})`;

/**
 * Starts write-back of `length` bytes of `fd` from `offset` (length 0: to the end of the file):
 * sync_file_range(SYNC_FILE_RANGE_WRITE) on the thread pool, through the addon on Linux. A hint
 * only: it resolves true when the kernel took it, false when there is no addon or the kernel
 * refused (a pipe, a file system without it); the caller's fdatasync stays what makes data durable.
 */
export async function startWriteback(fd: number, offset: number, length: number): Promise<boolean> {
  if (!binding?.startWriteback) return false;
  return (await binding.startWriteback(fd, offset, length)) === 0;
}
