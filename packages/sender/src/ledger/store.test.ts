import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { LedgerError } from './errors.js';
import { SCHEMA_VERSION } from './schema.js';
import { Ledger } from './store.js';
import type { SourceFile } from '../inventory/scan.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'diodesync-ledger-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const file = (relPath: string, size = 10, mtimeMs = 1_700_000_000_000, ino = 1): SourceFile =>
  ({ relPath, absPath: `/src/${relPath}`, size, mtimeMs, mtimeNs: BigInt(mtimeMs) * 1_000_000n, mode: 0o644, ino });

test('a file version keeps its sends and hash across reopen; a changed file is a new version', { timeout: 10_000 }, (t) => {
  const dir = tempDir(t);
  const at = path.join(dir, 'ledger.sqlite');
  let ledger = Ledger.open(at, { create: true });
  let current = ledger.sync([file('a'), file('b')], 2);
  const a = current.get('a')!;
  ledger.recordHash(a.id, Buffer.alloc(32, 7));
  assert.deepEqual(ledger.recordSend(a.id, 2, null, 1000), { sends: 1, totalSends: 1 });
  assert.deepEqual(ledger.recordSend(a.id, 2, null, 2000), { sends: 2, totalSends: 2 });
  ledger.close();

  ledger = Ledger.open(at, { create: true });
  current = ledger.sync([file('a'), file('b', 11)], 2);
  const a2 = current.get('a')!;
  assert.equal(a2.id, a.id);
  assert.equal(a2.sends, 2);
  assert.equal(a2.status, 'sent');
  assert.deepEqual(a2.sha256, Buffer.alloc(32, 7));
  assert.equal(a2.firstSentAt, 1000);
  assert.equal(a2.lastSentAt, 2000);
  assert.equal(current.get('b')!.sends, 0);
  assert.deepEqual(ledger.list('superseded').map((v) => v.path), ['b']);

  // A vanished path is marked gone, and comes back with its history if it returns unchanged.
  ledger.sync([file('b', 11)], 2);
  assert.equal(ledger.list('gone')[0]!.path, 'a');
  assert.equal(ledger.sync([file('a'), file('b', 11)], 2).get('a')!.status, 'sent');
  ledger.close();
});

test('without resume every current version is due again; history stays', { timeout: 10_000 }, (t) => {
  const at = path.join(tempDir(t), 'ledger.sqlite');
  const ledger = Ledger.open(at, { create: true });
  t.after(() => ledger.close());
  const a = ledger.sync([file('a'), file('gone')], 1).get('a')!;
  ledger.recordSend(a.id, 1);
  ledger.sync([file('a')], 1);
  ledger.beginSession({}, true);
  assert.equal(ledger.current().get('a')!.sends, 1);
  ledger.beginSession({}, false);
  const after = ledger.current().get('a')!;
  assert.equal(after.sends, 0);
  assert.equal(after.totalSends, 1);
  assert.equal(after.status, 'pending');
  assert.equal(ledger.current().get('gone')!.status, 'gone', 'a path no longer in the tree stays gone');
});

test('one status rule wherever sends change: pending at none, partial below R, sent at R; gone stays gone', { timeout: 10_000 }, (t) => {
  const ledger = Ledger.open(path.join(tempDir(t), 'ledger.sqlite'), { create: true });
  t.after(() => ledger.close());
  const status = (p: string) => ledger.current().get(p)!.status;
  const v = ledger.sync([file('a', 1, 1, 1), file('b', 2, 2, 2)], 3);
  const a = v.get('a')!;
  assert.equal(status('a'), 'pending');
  ledger.recordSend(a.id, 3);
  assert.equal(status('a'), 'partial');
  // Gone, then back unchanged: the status follows from its sends again.
  ledger.sync([file('b', 2, 2, 2)], 3);
  assert.equal(status('a'), 'gone');
  ledger.recordSend(a.id, 3);
  assert.equal(status('a'), 'gone', 'a send recorded after the path left does not bring it back');
  assert.equal(ledger.sync([file('a', 1, 1, 1), file('b', 2, 2, 2)], 3).get('a')!.status, 'partial');
  ledger.recordSend(a.id, 3);
  assert.equal(status('a'), 'sent');
  // A rename takes over the sends, and with them the status.
  const c = ledger.sync([file('b', 2, 2, 2), file('c', 1, 1, 1)], 3).get('c')!;
  ledger.adoptSends(c.id, a.id, 3);
  assert.equal(status('c'), 'sent');
  const d = ledger.sync([file('c', 1, 1, 1), file('d', 2, 2, 2)], 3).get('d')!;
  ledger.adoptSends(d.id, v.get('b')!.id, 3);
  assert.equal(status('d'), 'pending');
});

test('a session starts later than every earlier one, even when the clock went back (receivers follow the latest)', { timeout: 10_000 }, (t) => {
  const ledger = Ledger.open(path.join(tempDir(t), 'ledger.sqlite'), { create: true });
  t.after(() => ledger.close());
  const first = ledger.beginSession({}, false);
  assert.ok(Math.abs(first.startedAt - Date.now()) < 5_000);
  t.mock.method(Date, 'now', () => first.startedAt - 3_600_000); // the clock went back an hour
  const second = ledger.beginSession({}, false);
  assert.ok(second.startedAt > first.startedAt, `${second.startedAt} > ${first.startedAt}`);
  assert.ok(second.id > first.id);
});

test('a reset sets the chosen versions due, logs itself, and a send in flight does not undo it', { timeout: 10_000 }, (t) => {
  const at = path.join(tempDir(t), 'ledger.sqlite');
  const sender = Ledger.open(at, { create: true });
  t.after(() => sender.close());
  const current = sender.sync([file('x/1'), file('x/2'), file('y/1')], 1);
  for (const v of current.values()) sender.recordSend(v.id, 1);

  const operator = Ledger.open(at, { create: false, durable: true });
  const dry = operator.reset((v) => v.path.startsWith('x/'), { path: 'x/**' }, true);
  assert.deepEqual(dry.map((v) => v.path), ['x/1', 'x/2']);
  assert.equal(operator.resets().length, 0, 'a dry run changes nothing');
  operator.reset((v) => v.path.startsWith('x/'), { path: 'x/**' }, false);
  assert.deepEqual(operator.resets().map((r) => [r.criteria, r.files]), [[{ path: 'x/**' }, 2]]);
  operator.close();

  const seen = sender.current();
  assert.deepEqual([...seen.values()].filter((v) => v.status === 'reset').map((v) => v.path), ['x/1', 'x/2']);
  assert.equal(seen.get('x/1')!.sends, 0);
  assert.equal(seen.get('x/1')!.totalSends, 1);
  assert.deepEqual(sender.recordSend(seen.get('x/1')!.id, 1), { sends: 1, totalSends: 2 });
});

test('the reset log is append-only', { timeout: 10_000 }, (t) => {
  const at = path.join(tempDir(t), 'ledger.sqlite');
  Ledger.open(at, { create: true }).close();
  const db = new Database(at);
  t.after(() => db.close());
  db.prepare("INSERT INTO resets (at, criteria, files) VALUES (1, '{}', 0)").run();
  assert.throws(() => db.prepare('DELETE FROM resets').run(), /append-only/);
  assert.throws(() => db.prepare('UPDATE resets SET files = 9').run(), /append-only/);
});

test('a ledger belongs to one source tree', { timeout: 10_000 }, (t) => {
  const at = path.join(tempDir(t), 'ledger.sqlite');
  const ledger = Ledger.open(at, { create: true });
  t.after(() => ledger.close());
  ledger.claimSource('/srv/share');
  ledger.claimSource('/srv/share');
  assert.throws(() => ledger.claimSource('/srv/other'), /records the source \/srv\/share/);
});

test('a damaged ledger is refused with how to rebuild it, never replaced', { timeout: 10_000 }, (t) => {
  const dir = tempDir(t);
  const good = path.join(dir, 'good.sqlite');
  const ledger = Ledger.open(good, { create: true });
  ledger.sync(Array.from({ length: 500 }, (_, i) => file(`dir/file-${i}.bin`)), 1);
  ledger.close();

  const cases: [string, (p: string) => void, RegExp][] = [
    ['empty', (p) => writeFileSync(p, ''), /empty: truncated/],
    ['garbage', (p) => writeFileSync(p, 'not a database at all, just text\n'.repeat(100)), /not an SQLite database/],
    ['truncated', (p) => {
      writeFileSync(p, readBytes(good));
      truncateSync(p, Math.floor(statSync(good).size / 2));
    }, /malformed|corrupt/],
    ['foreign', (p) => {
      const db = new Database(p);
      db.exec('CREATE TABLE t (x)');
      db.close();
    }, /not a diodesync ledger/],
    ['newer', (p) => {
      writeFileSync(p, readBytes(good));
      const db = new Database(p);
      db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
      db.close();
    }, /newer than this diode-send/],
    ['wrong schema', (p) => {
      writeFileSync(p, readBytes(good));
      const db = new Database(p);
      db.exec('DROP TABLE sessions');
      db.close();
    }, /wrong schema/],
  ];
  for (const [name, damage, message] of cases) {
    const p = path.join(dir, `${name}.sqlite`);
    damage(p);
    const before = readBytes(p);
    for (const create of [true, false]) {
      assert.throws(() => Ledger.open(p, { create }), (err: unknown) => {
        assert.ok(err instanceof LedgerError, `${name}: ${String(err)}`);
        assert.match(err.message, message, name);
        if (name !== 'newer') assert.match(err.message, /move it aside with its -wal and -shm files .* start diode-send without -c/, name);
        return true;
      });
    }
    assert.ok(readBytes(p).equals(before), `${name}: left as it was`);
  }
  assert.throws(() => Ledger.open(path.join(dir, 'absent.sqlite'), { create: false }), /no ledger at/);
  // A ledger moved aside without its write-ahead log: the log must not be replayed into a new one.
  writeFileSync(path.join(dir, 'moved.sqlite-wal'), 'x');
  assert.throws(() => Ledger.open(path.join(dir, 'moved.sqlite'), { create: true }), /found .*moved\.sqlite-wal but no ledger/);
});

function readBytes(p: string): Buffer {
  return readFileSync(p);
}
