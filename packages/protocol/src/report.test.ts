import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reportedPaths, type ReceiverReport } from './report.js';

test('reportedPaths: the missing and outdated paths of a report as the receiver writes it', () => {
  const entry = (path: string) => ({ path, size: 1, sha256: '00', mtime: '2026-01-01T00:00:00.000Z' });
  const report: ReceiverReport = {
    generatedAt: '2026-01-01T00:00:00.000Z', dest: '/m', synced: false, manifestCreatedAt: null, manifestFiles: 3,
    missing: [entry('a'), { ...entry('b/c'), reason: 'refused' }], outdated: [entry('d')], unexpected: ['z'],
    partial: [{ path: 'a', chunks: 1, of: 2, idleSeconds: 3 }], expired: [],
  };
  assert.deepEqual(reportedPaths(JSON.parse(JSON.stringify(report))), ['a', 'b/c', 'd']);
  assert.deepEqual(reportedPaths({ missing: [{ path: 'x' }], outdated: [] }), ['x'], 'only the paths are required');
});

test('reportedPaths: anything without both lists of {path} is not a report', () => {
  for (const bad of [null, 7, 'x', [], {}, { synced: true }, { missing: [] }, { missing: [], outdated: {} }, { missing: [{ path: 1 }], outdated: [] }, { missing: [null], outdated: [] }]) {
    assert.equal(reportedPaths(bad), undefined, JSON.stringify(bad));
  }
});
