import assert from 'node:assert/strict';
import test from 'node:test';
import { decodeManifest, decodeObjectHeader, encodeManifest, encodeObjectHeader } from './messages.js';
import { fsPath, hasEscapedBytes, pathFromBytes, pathFromWire, pathToBytes, pathToWire, printablePath } from './path-bytes.js';

const names: Buffer[] = [
  Buffer.from('plain.txt'),
  Buffer.from('été 2026 💀 日本.txt'), // a pair whose low half is U+DC80: not an escape
  Buffer.from([0x66, 0xff, 0x6f]), // a byte no UTF-8 has
  Buffer.from([0xe9, 0x74, 0xe9]), // Latin-1 "été"
  Buffer.from([0xc3]), // a sequence cut short
  Buffer.from([0xed, 0xa0, 0x80]), // an encoded surrogate (CESU-8)
  Buffer.from([0xc0, 0xaf]), // an overlong '/'
  Buffer.from([0xf4, 0x90, 0x80, 0x80]), // beyond U+10FFFF
  Buffer.concat([Buffer.from('a\\b\tc\nd'), Buffer.from([0x80, 0x80])]),
];

test('every byte string survives bytes -> path -> bytes, and valid UTF-8 stays an ordinary string', () => {
  for (const bytes of names) {
    const p = pathFromBytes(bytes);
    assert.deepEqual(pathToBytes(p), bytes, bytes.toString('hex'));
    assert.equal(hasEscapedBytes(p), bytes.toString('utf8') !== p || Buffer.from(p).compare(bytes) !== 0, bytes.toString('hex'));
  }
  assert.equal(pathFromBytes(Buffer.from('été 💀')), 'été 💀');
  assert.equal(hasEscapedBytes('été 💀'), false);
  // All 256 single bytes but '/' and NUL, as one name.
  const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i).filter((b) => b !== 0 && b !== 0x2f));
  assert.deepEqual(pathToBytes(pathFromBytes(every)), every);
});

test('on the wire an escaped path goes as bytes, a valid one as a string; a string holding surrogates is refused', () => {
  const odd = pathFromBytes(Buffer.from([0x66, 0xff, 0x6f]));
  assert.ok(Buffer.isBuffer(pathToWire(odd)));
  assert.equal(pathToWire('ok'), 'ok');
  assert.equal(pathFromWire(pathToWire(odd)), odd);
  assert.equal(pathFromWire('x\udcff'), undefined);
  assert.equal(pathFromWire(42), undefined);
  assert.deepEqual(fsPath(odd), Buffer.from([0x66, 0xff, 0x6f]));
  assert.equal(fsPath('ok'), 'ok');
  assert.equal(printablePath(odd), 'f\\xffo');
});

test('headers and manifests carry byte names and nanosecond mtimes exactly', () => {
  const odd = pathFromBytes(Buffer.from([0x64, 0x2f, 0xe9, 0x0a, 0x5c]));
  const header = {
    kind: 'file' as const, path: odd, size: 1, mtimeMs: -1500.000001, mtimeNs: -1_500_000_001n, mode: 0o644,
    sha256: Buffer.alloc(32, 1), chunkSize: 1024, chunkCount: 1, version: 1, fecK: 0, fecM: 0,
  };
  assert.deepEqual(decodeObjectHeader(encodeObjectHeader(header)), header);
  const late = { ...header, mtimeNs: 4_102_444_800_987_654_321n };
  assert.equal(decodeObjectHeader(encodeObjectHeader(late)).mtimeNs, 4_102_444_800_987_654_321n);
  const manifest = { createdAt: 1, pass: 1, passes: 1, files: [{ path: odd, size: 1, mtimeMs: 0, sha256: Buffer.alloc(32) }], dirs: ['d'] };
  assert.deepEqual(decodeManifest(encodeManifest(manifest)).files[0]!.path, odd);
});
