import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ObjectIds } from './object-ids.js';

test('a version keeps its object id while it is current; fresh ids never repeat one', () => {
  const ids = new ObjectIds();
  assert.deepEqual(ids.assign([10, 11, 12]), [1, 2, 3]);
  assert.equal(ids.fresh(), 4);
  assert.deepEqual(ids.assign([12, 10, 13]), [3, 1, 5], 'same versions, same ids, in the order asked');
  // 11 left: it loses its id, and coming back it gets a new one (the receiver may have dropped the old).
  assert.deepEqual(ids.assign([11]), [6]);
  assert.deepEqual(ids.assign([10]), [7]);
});
