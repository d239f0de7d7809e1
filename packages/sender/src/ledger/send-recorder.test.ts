import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { SourceFile } from '../inventory/scan.js';
import { SendRecorder } from './send-recorder.js';
import { Ledger } from './store.js';
import { versionOf, type Version } from './version.js';

function setup(t: { after(fn: () => void): void }, sizes: number[]): { ledger: Ledger; versions: Version[] } {
  const dir = mkdtempSync(path.join(tmpdir(), 'diodesync-recorder-'));
  const ledger = Ledger.open(path.join(dir, 'ledger.sqlite'), { create: true });
  t.after(() => {
    ledger.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const files: SourceFile[] = sizes.map((size, i) => ({
    relPath: `f${String(i).padStart(3, '0')}`, absPath: `/src/f${i}`, size, mtimeMs: 1000, mtimeNs: 1_000_000_000n, mode: 0o644, ino: i + 1,
  }));
  const rows = ledger.sync(files, 2);
  return { ledger, versions: files.map((f) => versionOf(rows.get(f.relPath)!, f)) };
}

/** Runs `fn` with stderr (the log) captured. */
function quietly(fn: () => void): string[] {
  const lines: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => lines.push(...String(chunk).split('\n').filter(Boolean)) > 0) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stderr.write = write;
  }
  return lines;
}

test('sends reach the ledger in batches of 64, the rest at flush; each recorded send logs file-sent', (t) => {
  const { ledger, versions } = setup(t, Array(70).fill(10));
  const recorder = new SendRecorder(ledger, 2);
  const sends = () => [...ledger.current().values()].reduce((n, v) => n + v.sends, 0);
  const logged = quietly(() => {
    for (const v of versions.slice(0, 63)) recorder.sent(v);
    assert.equal(sends(), 0, 'not yet written');
    assert.ok(versions[0]!.everSent, 'but known here to have left');
    recorder.sent(versions[63]!);
    assert.equal(sends(), 64, 'the 64th send writes the batch');
    for (const v of versions.slice(64)) recorder.sent(v);
    assert.equal(sends(), 64);
    recorder.flush();
    assert.equal(sends(), 70);
    recorder.flush(); // nothing left: no write
  });
  assert.equal(logged.length, 70);
  assert.match(logged[0]!, /file-sent.*f000.*"pass":1.*"sends":1/);
  assert.equal(versions[69]!.sendsDone, 1, 'the send count comes back from the ledger');
  assert.equal(ledger.current().get('f000')!.status, 'partial');
});

test("a big file's hash is written as soon as it is known; a small one's waits for its send", (t) => {
  const { ledger, versions } = setup(t, [16 * 1024 * 1024, 100]);
  const recorder = new SendRecorder(ledger, 2);
  const [big, small] = versions as [Version, Version];
  recorder.hashed(big, Buffer.alloc(32, 1));
  recorder.hashed(small, Buffer.alloc(32, 2));
  assert.deepEqual(ledger.current().get(big.file.relPath)!.sha256, Buffer.alloc(32, 1));
  assert.equal(ledger.current().get(small.file.relPath)!.sha256, null);
  small.sha256 = Buffer.alloc(32, 2);
  quietly(() => {
    recorder.sent(small);
    recorder.flush();
  });
  assert.deepEqual(ledger.current().get(small.file.relPath)!.sha256, Buffer.alloc(32, 2));
  recorder.changed(big);
  assert.equal(ledger.current().get(big.file.relPath)!.sha256, null, 'a file that changed under us keeps no stale hash');
  recorder.failed(small);
  assert.equal(ledger.current().get(small.file.relPath)!.status, 'failed');
});
