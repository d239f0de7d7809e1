import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { detectChanges } from './changes.js';
import { Inventory } from './inventory.js';
import type { SourceFile } from './scan.js';
import { treeFilter } from './tree-filter.js';

function tree(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'diodesync-inventory-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function write(root: string, relPath: string, content: string, ageMs = 60_000): void {
  const p = path.join(root, relPath);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, content);
  const at = (Date.now() - ageMs) / 1000;
  utimesSync(p, at, at);
}

/** Runs `fn` with the log lines it writes to stderr captured (and not shown). */
async function captureLog<T>(fn: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  }) as typeof process.stderr.write;
  try {
    return { result: await fn(), lines };
  } finally {
    process.stderr.write = write;
  }
}

const paths = (files: SourceFile[]) => files.map((f) => f.relPath);

test('a scan: settled files in path order, the directories, and what was left out (counted, logged once)', async (t) => {
  const root = tree(t);
  write(root, 'b/2.txt', 'two');
  write(root, 'a.txt', 'a');
  write(root, 'b/1.txt', 'one');
  write(root, 'b/c/deep.txt', 'deep');
  write(root, 'draft.tmp', 'temporary');
  write(root, 'skip/me.log', 'excluded');
  write(root, 'fresh.txt', 'still being written', 0);
  symlinkSync('a.txt', path.join(root, 'link'));
  const counts = { skipped: 0, unreadable: 0 };
  const inventory = new Inventory({ source: root, filter: treeFilter([], ['skip/**']), settleMs: 10_000, announceChanges: false }, counts);

  const first = await captureLog(() => inventory.scan(() => undefined));
  assert.deepEqual(paths(first.result), ['a.txt', 'b/1.txt', 'b/2.txt', 'b/c/deep.txt']);
  assert.deepEqual(inventory.dirs, ['b', 'b/c', 'skip']);
  assert.ok(inventory.settlingUntil !== undefined && inventory.settlingUntil > Date.now(), 'fresh.txt will be looked at again once settled');
  assert.deepEqual(counts, { skipped: 3, unreadable: 0 });
  const skipped = first.lines.map((l) => l.match(/(?:"path":"|path=)([^" ]+)/)?.[1]).sort();
  assert.deepEqual(skipped, ['draft.tmp', 'link', 'skip/me.log']);

  // The same entries skipped again: counted again, not said again.
  const second = await captureLog(() => inventory.scan(() => undefined));
  assert.deepEqual(second.lines, []);
  assert.deepEqual(counts, { skipped: 3, unreadable: 0 });

  // Once quiet for --settle, the fresh file goes too.
  write(root, 'fresh.txt', 'still being written', 20_000);
  const third = await captureLog(() => inventory.scan(() => undefined));
  assert.deepEqual(paths(third.result), ['a.txt', 'b/1.txt', 'b/2.txt', 'b/c/deep.txt', 'fresh.txt']);
  assert.equal(inventory.settlingUntil, undefined);
});

test('a file renamed on disk is found as a rename between two scans; a removed one as a delete', async (t) => {
  const root = tree(t);
  write(root, 'docs/report.pdf', 'report');
  write(root, 'docs/old.txt', 'old');
  const inventory = new Inventory({ source: root, filter: treeFilter(), settleMs: 0, announceChanges: true }, { skipped: 0, unreadable: 0 });
  const versions = (files: SourceFile[], sent: boolean) =>
    new Map(files.map((file) => [file.relPath, { file, everSent: sent, sha256: sent ? Buffer.alloc(32, 1) : undefined }]));

  const before = versions(await inventory.scan(() => undefined), true);
  renameSync(path.join(root, 'docs/report.pdf'), path.join(root, 'archive-report.pdf'));
  rmSync(path.join(root, 'docs/old.txt'));
  const after = versions(await inventory.scan(() => undefined), false);
  assert.deepEqual(detectChanges(before, after).map((c) => [c.change.op, c.change.path, c.change.to]), [
    ['delete', 'docs/old.txt', ''],
    ['rename', 'docs/report.pdf', 'archive-report.pdf'],
  ]);
});
