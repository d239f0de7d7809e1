import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Packr } from 'msgpackr';
import { ProtocolError } from './errors.js';
import {
  decodeChange, decodeHeartbeat, decodeManifest, decodeObjectHeader,
  encodeChange, encodeHeartbeat, encodeManifest, encodeObjectHeader,
  type Heartbeat, type Manifest, type ObjectHeader,
} from './messages.js';

const header: ObjectHeader = {
  kind: 'file', path: 'dir/sous-dossier/été 2026.txt', size: 3000, mtimeMs: 1_700_000_000_123.456, mode: 0o644,
  sha256: randomBytes(32), chunkSize: 1424, chunkCount: 3, version: 9, fecK: 20, fecM: 4,
};

test('object header round-trips', () => {
  assert.deepEqual(decodeObjectHeader(encodeObjectHeader(header)), header);
});

test('manifest round-trips, large enough to span many frames', () => {
  const manifest: Manifest = {
    createdAt: Date.now(), pass: 1, passes: 2, dirs: ['a', 'a/b'],
    files: Array.from({ length: 5000 }, (_, i) => ({ path: `a/b/file-${i}`, size: i, mtimeMs: 1e12 + i, sha256: randomBytes(32) })),
  };
  const encoded = encodeManifest(manifest);
  assert.ok(encoded.length > 100_000);
  assert.deepEqual(decodeManifest(encoded), manifest);
});

test('heartbeat and change round-trip', () => {
  const hb: Heartbeat = {
    sessionId: 0xfeedface, host: 'low-side', startedAt: 1, sentAt: 2, intervalMs: 5000, framesSent: 10,
    bytesSent: 2 ** 40, filesSent: 3, queueDepth: 4, pass: 1, passes: 2, nextPassAt: 0,
  };
  assert.deepEqual(decodeHeartbeat(encodeHeartbeat(hb)), hb);
  const rename = { op: 'rename' as const, path: 'a', to: 'b', sha256: randomBytes(32) };
  assert.deepEqual(decodeChange(encodeChange(rename)), rename);
  assert.equal(decodeChange(encodeChange({ ...rename, op: 'delete' })).op, 'delete');
});

test('hostile or malformed messages throw ProtocolError, never anything else', () => {
  const packr = new Packr({ useRecords: false });
  const bad = [
    randomBytes(50),
    packr.pack([1, 2, 3]),
    packr.pack({ ...header, chunkCount: 99 }),
    packr.pack({ ...header, size: -1 }),
    packr.pack({ ...header, sha256: 'nope' }),
    packr.pack({ ...header, chunkSize: 0 }),
    packr.pack({ ...header, kind: 'exploit' }),
    packr.pack({ ...header, path: 'x'.repeat(5000) }),
    packr.pack({ ...header, mode: 0o100000 }),
    packr.pack({ ...header, fecK: 25 }),
    packr.pack({ ...header, fecM: 0 }),
    packr.pack({ ...header, fecK: undefined }),
    packr.pack({ ...header, chunkSize: 1001, chunkCount: 3 }),
  ];
  for (const payload of bad) assert.throws(() => decodeObjectHeader(payload), ProtocolError);
  assert.throws(() => decodeManifest(packr.pack({ files: [[1]], dirs: [] , createdAt: 1, pass: 1, passes: 1})), ProtocolError);
  assert.throws(() => decodeHeartbeat(packr.pack({})), ProtocolError);
});
