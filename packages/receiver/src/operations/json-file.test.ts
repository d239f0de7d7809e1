import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeJsonAtomic } from './json-file.js';

async function* drawn<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

test('a report written as it is drawn is the text JSON.stringify gives, with the count of each drawn list; no temp file stays', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'diodesync-json-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const target = path.join(dir, 'report.json');
  // Long enough to be written in several pieces.
  const missing = Array.from({ length: 5_000 }, (_, i) => ({ path: `d/${i}`, size: i, sha256: 'ab'.repeat(32), nested: { at: [i, 'x'] } }));
  const whole = { synced: false, dest: '/m', missing, outdated: [] as unknown[], unexpected: ['a', 'b'], partial: [{ p: 1 }], gone: undefined };
  const counts = await writeJsonAtomic(target, { ...whole, missing: drawn(missing), outdated: drawn([]) });
  assert.equal(await readFile(target, 'utf8'), JSON.stringify(whole, null, 2) + '\n');
  assert.deepEqual(counts, { missing: 5_000, outdated: 0 });
  assert.deepEqual(await readdir(dir), ['report.json']);
  await writeJsonAtomic(target, {});
  assert.equal(await readFile(target, 'utf8'), '{}\n');
});
