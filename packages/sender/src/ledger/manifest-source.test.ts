import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathFromBytes } from '@diodesync/protocol';
import type { SourceFile } from '../inventory/scan.js';
import { LedgerManifestSource, type ListedFile } from './manifest-source.js';
import { Ledger } from './store.js';

test('the manifest source lists current versions ever sent with a hash, in wire byte order, a page after another', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'diodesync-manifest-source-'));
  const ledger = Ledger.open(path.join(dir, 'ledger.sqlite'), { create: true });
  t.after(() => {
    ledger.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const odd = pathFromBytes(Buffer.from([0x61, 0xff])); // not UTF-8: a BLOB path, sorted by its bytes
  const names = ['a0', 'a/b', 'a-b', odd, 'unsent', 'nohash', 'z'];
  const files = names.map((relPath, i): SourceFile => ({ relPath, absPath: `/src/${relPath}`, size: i, mtimeMs: 1000 + i, mtimeNs: 0n, mode: 0o644, ino: i + 1 }));
  const rows = ledger.sync(files, 1);
  for (const p of names) if (p !== 'unsent') ledger.recordSend(rows.get(p)!.id, 1, p === 'nohash' ? null : Buffer.alloc(32, 1));
  ledger.sync(files.filter((f) => f.relPath !== 'z'), 1); // z is gone: no longer in the tree
  const source = new LedgerManifestSource(ledger, () => ['a']);
  const all: ListedFile[] = [];
  for (let page = source.listedFiles(undefined, 2); page.length > 0; page = source.listedFiles(page.at(-1)!.relPath, 2)) all.push(...page);
  assert.deepEqual(all.map((f) => f.relPath), ['a-b', 'a/b', 'a0', odd]);
  assert.deepEqual(all[0], { relPath: 'a-b', size: 2, mtimeMs: 1002, sha256: Buffer.alloc(32, 1) });
  assert.deepEqual(source.listedFiles('a/b', 1).map((f) => f.relPath), ['a0'], 'strictly after, at most the limit');
  assert.deepEqual(source.listedFiles(odd, 10), []);
  assert.deepEqual(source.dirs(), ['a']);
});
