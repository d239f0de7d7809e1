/*
 * Memory that accepted chunks are copied into before their write (PartialObject.copyIn): slabs of
 * SLAB_BYTES, handed back once the writes of their chunks are done and used again. A fresh buffer
 * per chunk, or even per megabyte, costs the page faults of memory never touched before and feeds
 * the garbage collector: about as much CPU as the rest of a datagram's way through the receiver.
 */

/** A slab: about 700 chunks of 1,424 bytes, what one coalesced write takes (MAX_RUN_BYTES). */
export const SLAB_BYTES = 1024 * 1024;
/** Free slabs kept at most: a few objects' worth in flight; more is memory nobody uses. */
const MAX_FREE = 8;

const free: Buffer[] = [];

/** A slab of SLAB_BYTES, used before if one is free. */
export function takeSlab(): Buffer {
  return free.pop() ?? Buffer.allocUnsafeSlow(SLAB_BYTES);
}

/** Gives a slab back: nothing may hold a view into it any more. */
export function giveSlab(slab: Buffer): void {
  if (slab.length === SLAB_BYTES && free.length < MAX_FREE) free.push(slab);
}
