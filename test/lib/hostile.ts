import { createHash } from 'node:crypto';
import { FrameType, encodeChange, encodeFrame, encodeObjectHeader } from '@diodesync/protocol';

/**
 * Relative paths a receiver must refuse; each would land outside DEST or cannot be a name. (Names
 * with a backslash, a drive letter or a control character are legal on Linux: the receiver
 * carries them, inside DEST; see e2e-names.)
 */
export function hostilePaths(absoluteInside: string): string[] {
  return [
    '../ESCAPE-dotdot', 'a/../../ESCAPE-nested', './ESCAPE-dot', `${absoluteInside}/ESCAPE-absolute`, '/ESCAPE-root',
    'ESCAPE-nul\0.txt', 'a//ESCAPE-empty-segment', 'ESCAPE-trailing/',
    '', `${'E'.repeat(256)}-ESCAPE-long-name`, `${'d/'.repeat(2100)}ESCAPE-long-path`,
    'link/ESCAPE-through-symlink', 'link/sub/ESCAPE-through-symlink-deeper',
  ];
}

/**
 * Complete, well-formed objects (header and its one data chunk, correct SHA-256) with hostile
 * paths, and deletes and renames that would reach through a symlink: only the path check stands
 * between these frames and the disk.
 */
export function hostileFrames(sessionId: number, absoluteInside: string, victimSha256: Buffer): Buffer[] {
  const content = Buffer.from('ESCAPE\n');
  const sha256 = createHash('sha256').update(content).digest();
  const frames: Buffer[] = [];
  let sequence = 0;
  hostilePaths(absoluteInside).forEach((p, i) => {
    const objectId = 1_000_000 + i;
    frames.push(encodeFrame({ type: FrameType.ObjectHeader, sessionId, sequence: sequence++, objectId, pass: 1 },
      encodeObjectHeader({ kind: 'file', path: p, size: content.length, mtimeMs: 1e12, mode: 0o4777, sha256, chunkSize: 1024, chunkCount: 1, version: 1, fecK: 0, fecM: 0 })));
    frames.push(encodeFrame({ type: FrameType.Data, sessionId, sequence: sequence++, objectId, chunkIndex: 0, pass: 1 }, content));
  });
  const change = (op: 'delete' | 'rename', path: string, to = '') =>
    encodeFrame({ type: FrameType.Change, sessionId, sequence: sequence++ }, encodeChange({ op, path, to, sha256: victimSha256 }));
  frames.push(change('delete', 'link/victim.txt'), change('rename', 'link/victim.txt', 'stolen.txt'), change('rename', 'a.bin', '../ESCAPE-rename'));
  // Sizes no disk holds, and chunk counts no bitmap should be allocated for.
  for (const [size, chunkSize] of [[2 ** 52, 1], [2 ** 40, 65_536], [Number.MAX_SAFE_INTEGER, 1]] as const) {
    frames.push(encodeFrame({ type: FrameType.ObjectHeader, sessionId, sequence: sequence++, objectId: sequence }, encodeObjectHeader({
      kind: 'file', path: `huge-${size}`, size, mtimeMs: 0, mode: 0o644, sha256, chunkSize, chunkCount: Math.ceil(size / chunkSize), version: 1, fecK: 0, fecM: 0,
    })));
  }
  return frames;
}
