import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ObjectHeader } from '@diodesync/protocol';
import { parseByteSize } from '@diodesync/cli-kit';
import { MAX_ASSEMBLY_CHUNKS, MAX_MANIFEST_BYTES, ResourceLimits, parseFreeFloor } from './limits.js';

const file = (size: number, kind: ObjectHeader['kind'] = 'file'): ObjectHeader => ({
  kind, path: kind === 'file' ? 'a' : '', size, mtimeMs: 0, mode: 0o644, sha256: Buffer.alloc(32), chunkSize: 1024, chunkCount: Math.ceil(size / 1024), version: 0, fecK: 0, fecM: 0,
});

test('--min-free takes bytes or a percentage', () => {
  assert.deepEqual(parseFreeFloor('1g', parseByteSize), { bytes: 1024 ** 3 });
  assert.deepEqual(parseFreeFloor('2.5%', parseByteSize), { percent: 2.5 });
  assert.throws(() => parseFreeFloor('101%', parseByteSize), /at most 100%/);
});

test('an object is refused when it is too large, when there are too many files, or when the disk would fill', async () => {
  const limits = new ResourceLimits({ maxFileSize: 1000, maxFiles: 10, minFree: { bytes: 0 } }, ['/']);
  assert.equal(limits.breach(file(1000), 9, 0), undefined);
  assert.equal(limits.breach(file(1001), 0, 0), 'max-file-size');
  assert.equal(limits.breach(file(10), 10, 0), 'max-files');
  assert.equal(limits.breach(file(10, 'manifest'), 10, 0), undefined, 'a manifest is no file of the mirror');
  const big = new ResourceLimits({ maxFileSize: 2 ** 50, maxFiles: 10, minFree: { percent: 100 } }, ['/']);
  assert.equal(big.breach(file(MAX_MANIFEST_BYTES + 1, 'manifest'), 0, 0), 'max-file-size');
  await big.refresh();
  assert.equal(big.breach(file(1), 0, 0), 'min-free', 'a floor of 100% leaves no room');
  const roomy = new ResourceLimits({ maxFileSize: 2 ** 50, maxFiles: 10, minFree: { bytes: 0 } }, ['/']);
  await roomy.refresh();
  assert.equal(roomy.breach(file(1), 0, 0), undefined);
  assert.equal(roomy.breach(file(1), 0, 2 ** 60), 'min-free', 'objects under way reserve their size');
});

test('an object of more chunks than the assembly ceiling is refused as too large', () => {
  const limits = new ResourceLimits({ maxFileSize: 2 ** 52, maxFiles: 10, minFree: { bytes: 0 } }, ['/']);
  const huge = { ...file(0), size: MAX_ASSEMBLY_CHUNKS + 1, chunkSize: 1, chunkCount: MAX_ASSEMBLY_CHUNKS + 1 };
  assert.equal(limits.breach(huge, 0, 0), 'max-file-size');
});
