import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { SourceFile } from '../inventory/scan.js';
import { Schedule } from './schedule.js';
import { Ledger } from './store.js';

function open(t: { after(fn: () => void): void }): Ledger {
  const dir = mkdtempSync(path.join(tmpdir(), 'diodesync-schedule-'));
  const ledger = Ledger.open(path.join(dir, 'ledger.sqlite'), { create: true });
  t.after(() => {
    ledger.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return ledger;
}
let ino = 1;
const file = (relPath: string, size = 1): SourceFile => ({ relPath, absPath: `/src/${relPath}`, size, mtimeMs: 1000, mtimeNs: 1_000_000_000n, mode: 0o644, ino: ino++ });
/** Versions of these paths in the ledger, each sent `sends` times, the last at `at`. */
function versions(ledger: Ledger, r: number, spec: Record<string, [sends: number, at: number] | number>): Map<string, number> {
  const rows = ledger.sync(Object.keys(spec).map((p) => file(p, typeof spec[p] === 'number' ? (spec[p] as number) : 1)), r);
  for (const [p, s] of Object.entries(spec)) {
    if (typeof s === 'number') continue;
    for (let i = 0; i < s[0]; i++) ledger.recordSend(rows.get(p)!.id, r, null, s[1]);
  }
  return new Map([...rows].map(([p, v]) => [p, v.id]));
}
const paths = (schedule: Schedule, now: number, files?: number, bytes?: number) => [...schedule.duePages(now, files, bytes)].map((page) => page.map((v) => v.path));

test('due: new versions first, then redundancy passes, each group in wire byte order, in bounded pages', (t) => {
  const ledger = open(t);
  versions(ledger, 3, { 'a/b': [1, 5], 'a-b': 1, a0: [3, 5], 'é': [2, 5], b: 1 }); // a number: a size, never sent
  const schedule = new Schedule({ redundancy: 3, passIntervalMs: 0 }, ledger);
  assert.deepEqual(paths(schedule, 10), [['a-b', 'b'], ['a/b', 'é']], 'a0 went R times; a-b < a/b < a0 (bytes)');
  assert.deepEqual(paths(schedule, 10, 1), [['a-b'], ['b'], ['a/b'], ['é']], 'a page holds at most the files asked');
  assert.deepEqual(schedule.queue(10), { files: 4, bytes: 4 });
});

test('a page holds at most the bytes asked, but always one file', (t) => {
  const ledger = open(t);
  versions(ledger, 1, { big: 100, small1: 10, small2: 10 });
  const schedule = new Schedule({ redundancy: 1, passIntervalMs: 0 }, ledger);
  assert.deepEqual(paths(schedule, 10, 100, 50), [['big'], ['small1', 'small2']]);
});

test('a version is due again only a pass interval after its last send; the next due time says when', (t) => {
  const ledger = open(t);
  versions(ledger, 2, { a: [1, 5000] });
  const schedule = new Schedule({ redundancy: 2, passIntervalMs: 1000 }, ledger);
  assert.deepEqual(paths(schedule, 5999), []);
  assert.deepEqual(schedule.queue(5999), { files: 0, bytes: 0 });
  assert.deepEqual(paths(schedule, 6000), [['a']]);
  assert.equal(schedule.nextDueAt([], undefined), 6000);
  assert.equal(schedule.nextDueAt([], 5500), 5500, 'a file settling sooner comes first');
  assert.equal(schedule.nextDueAt([{ sends: 1, lastSentAt: 4000 }], undefined), 5000, 'announcements are spaced the same way');
  versions(ledger, 2, { a: [1, 5000], fresh: 0 });
  assert.equal(schedule.nextDueAt([], undefined), 0, 'a never-sent version is due now');
  assert.equal(schedule.dueNow(0, 9999, 0), true);
  assert.equal(schedule.dueNow(1, 9999, 10_000), false);
});

test('nothing left to send: every version went R times', (t) => {
  const ledger = open(t);
  versions(ledger, 2, { done: [2, 1] });
  assert.equal(new Schedule({ redundancy: 2, passIntervalMs: 0 }, ledger).nextDueAt([], undefined), undefined);
});

test('an unreadable version is not due again (until it changes, or the next start), and is counted', (t) => {
  const ledger = open(t);
  const ids = versions(ledger, 2, { bad: 0, good: 0 });
  const schedule = new Schedule({ redundancy: 2, passIntervalMs: 0 }, ledger);
  ledger.markFailed(ids.get('bad')!);
  assert.deepEqual(paths(schedule, 0), [['good']]);
  assert.equal(schedule.failed(), 1);
  ledger.settleStatuses(2); // a sender's start
  assert.deepEqual(paths(schedule, 0), [['bad', 'good']]);
});

test('a larger R at a later start owes versions sent R times more sends', (t) => {
  const ledger = open(t);
  versions(ledger, 1, { a: [1, 5] });
  const schedule = new Schedule({ redundancy: 2, passIntervalMs: 0 }, ledger);
  assert.deepEqual(paths(schedule, 10), []);
  ledger.settleStatuses(2);
  assert.deepEqual(paths(schedule, 10), [['a']]);
});
