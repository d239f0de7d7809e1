import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Packr } from 'msgpackr';
import { ProtocolError } from './errors.js';
import {
  decodeChange, decodeHeartbeat, decodeManifest, decodeObjectHeader,
  encodeChange, encodeHeartbeat, encodeManifest, encodeObjectHeader,
  comparePaths, inPieceRange, MAX_MANIFEST_PART_ENTRIES,
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
  // An old whole manifest (no piece, no delta) decodes as the one piece of its cycle, covering everything.
  assert.deepEqual(decodeManifest(encoded), { ...manifest, scope: { kind: 'piece', cycle: 1, index: 0, count: 1 } });
});

test('a manifest piece carries its cycle, index, count and path range, in wire byte order', () => {
  const files = ['b/1', 'b/\u00e9', 'c'].map((p, i) => ({ path: p, size: i, mtimeMs: 1e12, sha256: randomBytes(32) }));
  const piece: Manifest = {
    createdAt: 5, pass: 7, passes: 1, files, dirs: ['b'],
    scope: { kind: 'piece', cycle: 7, index: 2, count: 0, from: 'a/z', to: 'c' },
  };
  assert.deepEqual(decodeManifest(encodeManifest(piece)), piece);
  const first: Manifest = { ...piece, scope: { kind: 'piece', cycle: 7, index: 0, count: 3, to: 'c' } };
  assert.deepEqual(decodeManifest(encodeManifest(first)), first);
  // 'é' (0xc3 0xa9) sorts after 'z' as bytes, not as UTF-16 code units: the order is the wire's.
  assert.ok(comparePaths('b/\u00e9', 'b/z') > 0);
  assert.ok(inPieceRange('b/1', 'b', 'b/1') && !inPieceRange('b', 'b', 'c') && inPieceRange('zz', 'c', undefined));
});

test('a delta carries its number, files sent and paths removed', () => {
  const delta: Manifest = {
    createdAt: 5, pass: 3, passes: 1, dirs: [], files: [{ path: 'new', size: 1, mtimeMs: 2, sha256: randomBytes(32) }],
    scope: { kind: 'delta', seq: 12, removed: ['gone', 'old/name'] },
  };
  assert.deepEqual(decodeManifest(encodeManifest(delta)), delta);
});

test('a piece that lists a path outside its range, or one too large, is refused', () => {
  const packr = new Packr({ useRecords: false });
  const base = { createdAt: 1, pass: 1, passes: 1, dirs: [] };
  const entry = (p: string) => [p, 1, 1, randomBytes(32)];
  assert.throws(() => decodeManifest(packr.pack({ ...base, files: [entry('a')], piece: [1, 0, 0, 'b', 'c'] })), /outside its range/);
  assert.throws(() => decodeManifest(packr.pack({ ...base, files: [entry('c')], piece: [1, 0, 0, 'b', 'a'] })), /bad piece range/);
  assert.throws(() => decodeManifest(packr.pack({ ...base, files: [], piece: [1, 3, 2, null, null] })), /bad piece index/);
  assert.throws(() => decodeManifest(packr.pack({ ...base, files: [], piece: [1, 0, 1, null, null], delta: [1, []] })), ProtocolError);
  const many = Array.from({ length: MAX_MANIFEST_PART_ENTRIES + 1 }, () => 'd');
  assert.throws(() => decodeManifest(packr.pack({ ...base, files: [], delta: [1, many] })), /too large/);
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
