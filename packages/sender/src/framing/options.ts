import type { FecLayout } from '@diodesync/protocol';

/** How objects are cut into frames and spread on the wire. */
export interface FramingOptions {
  /** Payload bytes per data frame (from --mtu). */
  chunkSize: number;
  /** FEC layout of every object sent (k = 0: none). */
  fec: FecLayout;
  /** FEC blocks interleaved on the wire: a burst of up to this many lost frames costs each block one. */
  interleave: number;
}
