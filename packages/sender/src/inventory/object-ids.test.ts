import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FIRST_MANIFEST_ID, MANIFEST_IDS_FROM, ManifestIds, objectIdOfVersion } from './object-ids.js';

test('a version keeps its object id (its ledger row id); manifests take ids from the top, never a version id', () => {
  assert.equal(objectIdOfVersion(1), 1);
  assert.equal(objectIdOfVersion(12345), 12345);
  const ids = new ManifestIds();
  const a = ids.fresh();
  const b = ids.fresh();
  assert.equal(a, FIRST_MANIFEST_ID);
  assert.equal(b, FIRST_MANIFEST_ID - 1);
  assert.ok(b >= MANIFEST_IDS_FROM);
  assert.throws(() => objectIdOfVersion(MANIFEST_IDS_FROM), RangeError);
  assert.throws(() => objectIdOfVersion(0), RangeError);
});
