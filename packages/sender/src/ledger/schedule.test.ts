import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SourceFile } from '../inventory/scan.js';
import { Schedule } from './schedule.js';
import type { Version } from './version.js';

let nextId = 1;
function version(relPath: string, sendsDone = 0, lastSentAt = 0): Version {
  const file: SourceFile = { relPath, absPath: `/src/${relPath}`, size: 1, mtimeMs: 0, mtimeNs: 0n, mode: 0o644, ino: nextId };
  return { file, id: nextId++, sha256: undefined, objectId: nextId, sendsDone, everSent: sendsDone > 0, lastSentAt };
}
const paths = (vs: Version[]) => vs.map((v) => v.file.relPath);

test('due: new versions first, then redundancy passes, each group in the order given (path order)', () => {
  const schedule = new Schedule({ redundancy: 3, passIntervalMs: 0 });
  const versions = [version('a', 1, 5), version('b'), version('c', 3, 5), version('d', 2, 5), version('e')];
  assert.deepEqual(paths(schedule.due(versions, 10)), ['b', 'e', 'a', 'd'], 'c went R times');
  assert.equal(schedule.countDue(versions, 10), 4);
});

test('a version is due again only a pass interval after its last send; the next due time says when', () => {
  const schedule = new Schedule({ redundancy: 2, passIntervalMs: 1000 });
  const sentOnce = version('a', 1, 5000);
  assert.deepEqual(schedule.due([sentOnce], 5999), []);
  assert.deepEqual(paths(schedule.due([sentOnce], 6000)), ['a']);
  assert.equal(schedule.nextDueAt([sentOnce], [], undefined), 6000);
  assert.equal(schedule.nextDueAt([sentOnce, version('new')], [], undefined), 0, 'a never-sent version is due now');
  assert.equal(schedule.nextDueAt([sentOnce], [], 5500), 5500, 'a file settling sooner comes first');
  assert.equal(schedule.nextDueAt([sentOnce], [{ sends: 1, lastSentAt: 4000 }], undefined), 5000, 'announcements are spaced the same way');
  assert.equal(schedule.nextDueAt([version('done', 2, 1)], [], undefined), undefined, 'nothing left to send');
  assert.equal(schedule.dueNow(0, 9999, 0), true);
  assert.equal(schedule.dueNow(1, 9999, 10_000), false);
});

test('an unreadable version is not due again (until it changes: a new version), and is counted', () => {
  const schedule = new Schedule({ redundancy: 2, passIntervalMs: 0 });
  const bad = version('bad');
  const good = version('good');
  schedule.markFailed(bad);
  assert.deepEqual(paths(schedule.due([bad, good], 0)), ['good']);
  assert.equal(schedule.nextDueAt([bad], [], undefined), undefined);
  assert.equal(schedule.failedAmong([bad, good]), 1);
});
