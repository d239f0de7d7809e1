// encodeParity: a FEC block's parity computed on the calling thread (src/parity.cc), the same
// bytes as @ronomon/reed-solomon's encode, which only runs on the thread pool and pays a hand-off
// there and back per block (about 30 us of CPU against 6 us of coding for 20 chunks of 1,424 bytes).
import { binding } from './binding.js';

/**
 * (context, data, parity, shardSize): fills `parity` (m shards) from `data` (k shards), with the
 * codec's context for k+m; undefined without the addon (the codec's own encode runs then).
 */
export const encodeParity: ((context: Uint8Array, data: Uint8Array, parity: Uint8Array, shardSize: number) => void) | undefined = binding?.encodeParity;

/** Which coder runs: the addon's, 32 bytes a step (AVX2) or 8 (DIODESYNC_PARITY_WORDS=1 forces it), or the codec's on the thread pool. */
export const parityPath: 'avx2' | 'words' | 'codec' = binding?.parityPath ?? 'codec';
