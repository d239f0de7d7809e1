import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { treeFilter } from '../inventory/tree-filter.js';
import { Ledger } from './store.js';
import { TreeSync } from './tree-sync.js';

const SHA = Buffer.alloc(32, 7);

function setup(t: { after(fn: () => void): void }, options: { announceChanges?: boolean; settleMs?: number } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'diodesync-tree-sync-'));
  const source = path.join(dir, 'src');
  mkdirSync(source);
  const ledger = Ledger.open(path.join(dir, 'ledger.sqlite'), { create: true });
  t.after(() => {
    ledger.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const counts = { skipped: 0, unreadable: 0 };
  const sync = new TreeSync({ source, filter: treeFilter(), settleMs: options.settleMs ?? 0, announceChanges: options.announceChanges ?? true }, ledger, 1, counts);
  sync.batchFiles = 3; // many batches on a small tree
  const write = (rel: string, data = rel) => {
    mkdirSync(path.dirname(path.join(source, rel)), { recursive: true });
    writeFileSync(path.join(source, rel), data);
    utimesSync(path.join(source, rel), 1_000_000, 1_000_000); // settled, and the same mtime on every write
  };
  const rows = () => new Map(ledger.list().map((v) => [v.path, v]));
  const sendAll = () => {
    for (const v of ledger.list()) if (v.status !== 'gone') ledger.recordSend(v.id, 1, SHA);
  };
  return { source, ledger, sync, write, rows, sendAll, counts };
}

test('a walk in batches: unchanged files keep their version, a changed one gets a new one, vanished ones go gone across batch boundaries', async (t) => {
  const { source, sync, write, rows, sendAll } = setup(t, { announceChanges: false });
  for (const p of ['a', 'b', 'c', 'd/1', 'd/2', 'd/3', 'd/4', 'e-1', 'e/x', 'f']) write(p);
  const found: string[] = [];
  sync.onDir = (d) => found.push(d);
  const first = await sync.walk();
  assert.deepEqual(found, ['d', 'e'], 'every directory is reported as the walk finds it (watch mode watches it)');
  assert.equal(first.added, 10);
  assert.deepEqual(sync.dirs, ['d', 'e']);
  const before = rows();
  sendAll();
  write('d/2', 'longer now');
  rmSync(path.join(source, 'b'));
  rmSync(path.join(source, 'd', '4'));
  rmSync(path.join(source, 'e'), { recursive: true });
  write('g');
  const second = await sync.walk();
  assert.equal(second.added, 2, 'd/2 changed, g is new');
  assert.deepEqual(second.changes, [], 'without --delete nothing is announced');
  const after = rows();
  for (const p of ['a', 'c', 'd/1', 'd/3', 'e-1', 'f']) assert.equal(after.get(p)!.id, before.get(p)!.id, `${p} unchanged: same version`);
  assert.notEqual(after.get('d/2')!.id, before.get('d/2')!.id);
  assert.equal(after.get('d/2')!.status, 'pending');
  for (const p of ['b', 'd/4', 'e/x']) assert.equal(after.get(p)!.status, 'gone', `${p} vanished`);
  assert.deepEqual(sync.dirs, ['d']);
  // A path back with another file (another size: the freed inode may be taken again) is a new version, due again.
  write('b', 'b is back, longer');
  await sync.walk();
  assert.equal(rows().get('b')!.status, 'pending');
  assert.notEqual(rows().get('b')!.id, before.get('b')!.id);
});

test('--delete: a sent file that vanished is a delete; moved elsewhere (same inode, size, mtime) a rename that takes over its sends', async (t) => {
  const { source, sync, write, rows, sendAll, ledger } = setup(t);
  for (const p of ['m/early', 'm/late', 'n/1', 'n/2', 'n/3', 'z', 'gone']) write(p);
  await sync.walk();
  sendAll();
  write('unsent');
  await sync.walk();
  renameSync(path.join(source, 'm', 'late'), path.join(source, 'a-first')); // the new path comes before the old one
  renameSync(path.join(source, 'm', 'early'), path.join(source, 'zz-last')); // and after it
  rmSync(path.join(source, 'gone'));
  rmSync(path.join(source, 'unsent'));
  const { changes } = await sync.walk();
  const byPath = new Map(changes.map((c) => [c.change.path, c.change]));
  assert.equal(changes.length, 3, JSON.stringify(changes.map((c) => c.change)));
  assert.deepEqual(byPath.get('m/late'), { op: 'rename', path: 'm/late', to: 'a-first', sha256: SHA });
  assert.deepEqual(byPath.get('m/early'), { op: 'rename', path: 'm/early', to: 'zz-last', sha256: SHA });
  assert.deepEqual(byPath.get('gone'), { op: 'delete', path: 'gone', to: '', sha256: SHA });
  assert.ok(!byPath.has('unsent'), 'never sent: the receiver holds nothing to delete');
  const after = rows();
  assert.equal(after.get('a-first')!.status, 'sent', 'the rename target took over the sends');
  assert.equal(after.get('zz-last')!.totalSends, 1);
  assert.deepEqual(new Schedule(ledger).due(), []);
});

test('paths an event named are synced alone: a changed file, a new directory walked whole, a removed directory gone', async (t) => {
  const { source, sync, write, rows, sendAll } = setup(t);
  for (const p of ['a', 'd/1', 'd/2', 'keep/x']) write(p);
  await sync.walk();
  sendAll();
  write('a', 'changed content');
  write('new/deep/f');
  rmSync(path.join(source, 'd'), { recursive: true });
  const found: string[] = [];
  sync.onDir = (d) => found.push(d);
  const { changes, added } = await sync.syncPaths(['a', 'new', 'd']);
  assert.equal(added, 2, 'a (changed) and new/deep/f');
  assert.deepEqual(found, ['new', 'new/deep'], 'new directories are found (watch mode watches them)');
  assert.deepEqual(changes.map((c) => `${c.change.op} ${c.change.path}`).sort(), ['delete d/1', 'delete d/2']);
  assert.deepEqual(sync.dirs, ['keep', 'new', 'new/deep']);
  assert.equal(rows().get('keep/x')!.status, 'sent', 'paths not named are not touched');
});

test('a file still being written keeps the version it has until it settles, then is looked at alone', async (t) => {
  const { source, sync, write, rows } = setup(t, { settleMs: 60_000 });
  write('old');
  writeFileSync(path.join(source, 'fresh'), 'being written');
  await sync.walk();
  assert.deepEqual([...rows().keys()], ['old'], 'not settled: no version yet');
  assert.ok(sync.settlingUntil! > Date.now());
  assert.deepEqual(sync.settlingDue(Date.now() + 61_000), ['fresh']);
});

/** The due rows of the ledger, as the sender would page them. */
class Schedule {
  constructor(private readonly ledger: Ledger) {}
  due(): string[] {
    return this.ledger.duePage(true, undefined, 100, Infinity, Date.now(), 0).map((v) => v.path);
  }
}

test('a sent file deleted while being sent again (the ledger forgot its hash) still has its delete announced, with the hash the receiver holds', async (t) => {
  const { source, sync, write, ledger } = setup(t);
  write('x');
  await sync.walk();
  const id = ledger.list()[0]!.id;
  ledger.recordSend(id, 1, SHA);
  ledger.recordHash(id, null); // the second send found it changed under us (send-recorder's `changed`)
  rmSync(path.join(source, 'x'));
  const held = new TreeSync({ source, filter: treeFilter(), settleMs: 0, announceChanges: true }, ledger, 1, { skipped: 0, unreadable: 0 }, (v) => (v === id ? SHA : undefined));
  const { changes } = await held.syncPaths(['x']);
  assert.deepEqual(changes.map((c) => c.change), [{ op: 'delete', path: 'x', to: '', sha256: SHA }]);
});
