import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { events, runSender, startImpairRelay, startReceiver, stopImpairRelay } from './lib/cli.js';
import { prng } from './lib/prng.js';
import { listTree, makeTree, tempDir, treeDifferences } from './lib/tree.js';

// Every run goes sender CLI -> diode-impair (seeded) -> receiver CLI over loopback, at a modest rate.
// Frame order is deterministic (one heartbeat first, none during these short sends), so a seed
// gives the same losses on every run.

const SMALL_FILES = {
  'tiny.txt': 'tiny\n',
  'empty.dat': '',
  'one-chunk.bin': 1000,
  'few/three-chunks.bin': 4000,
  'few/seven-chunks.bin': 9000,
  'few/odd.bin': 28_481, // 20 chunks and a byte: a full block and a 1-chunk block
};

interface Outcome {
  code: number | null;
  exit: Record<string, unknown>;
  relay: Record<string, number>;
  root: string;
  src: string;
  dest: string;
}

async function transfer(t: TestContext, files: Record<string, number | string>, impair: string[], send: string[], timeoutS = 20): Promise<Outcome> {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  await makeTree(src, files);
  const receiver = await startReceiver(dest, ['--exit-when-synced', '--timeout', String(timeoutS)]);
  t.after(() => receiver.kill('SIGKILL'));
  const relay = await startImpairRelay(receiver.port, impair);
  t.after(() => relay.kill('SIGKILL'));
  const sent = await runSender(src, `udp://127.0.0.1:${relay.port}`, ['--once', '--rate', '100m', ...send]);
  assert.equal(sent.code, 0, sent.stderr);
  const received = await receiver.exited;
  const counters = await stopImpairRelay(relay);
  const exit = events(received.stderr).find((e) => e.event === 'exit')!;
  return { code: received.code, exit, relay: counters, root, src, dest };
}

test('1% random loss, --fec 20+4, R=1: every file byte-identical', { timeout: 60_000 }, async (t) => {
  const o = await transfer(t, { ...SMALL_FILES, 'big.bin': 3_000_000, 'mid/mid.bin': 300_000 },
    ['--loss', '0.01', '--seed', '11'], ['--fec', '20+4', '-R', '1']);
  assert.ok(Number(o.relay.lostRandom) > 10, `the relay lost frames: ${JSON.stringify(o.relay)}`);
  assert.equal(o.code, 0, JSON.stringify(o.exit));
  assert.deepEqual(await treeDifferences(o.src, o.dest), []);
  assert.ok(Number(o.exit.fecRepairedChunks) > 0, 'FEC repaired what was lost');
});

test('bursts of 20 lost frames, --interleave 20, R=1: every file arrives, small ones too', { timeout: 60_000 }, async (t) => {
  // Blocks of consecutive files share interleave groups, and the short tail group of the pass
  // (where the manifest goes) is padded, so every block and the manifest lose at most one frame.
  const o = await transfer(t, { ...SMALL_FILES, 'a.bin': 2_000_000, 'b/b.bin': 2_000_000, 'c.bin': 700_000 },
    ['--burst', '20/1000'], ['--fec', '20+4', '--interleave', '20', '-R', '1']);
  assert.ok(Number(o.relay.lostBurst) >= 60, `the relay lost bursts: ${JSON.stringify(o.relay)}`);
  assert.equal(o.code, 0, JSON.stringify(o.exit));
  assert.deepEqual(await treeDifferences(o.src, o.dest), []);
  assert.ok(Number(o.exit.fecRepairedChunks) >= 50);
});

test('bursts of 16 lost frames, --interleave 16, R=1: a tree of 300 tiny files (1 to 4 chunks) arrives whole', { timeout: 60_000 }, async (t) => {
  // Short blocks (k' = 1..4, one parity frame each) of different lengths share each group: every
  // block must keep its place from column to column, or one burst of 16 takes two of its frames.
  // Bursts are 184 frames apart, more than the span of a file's block on the wire (5 frames, at
  // most ~80 apart), so each meets one burst at most: what is tested is the single-burst guarantee.
  // (The manifest, 13 chunks + 3 parity, may meet two bursts, one frame each.)
  const random = prng(12);
  const chunk = 1424; // MTU 1500 with FEC
  const files: Record<string, number> = {};
  for (let i = 0; i < 300; i++) {
    const chunks = 1 + Math.floor(random() * 4);
    files[`d${i % 7}/f${i}.bin`] = (chunks - 1) * chunk + 1 + Math.floor(random() * chunk);
  }
  const o = await transfer(t, files, ['--burst', '16/200'], ['--fec', '20+4', '--interleave', '16', '-R', '1'], 15);
  assert.ok(Number(o.relay.lostBurst) >= 16 * 8, `the relay lost bursts: ${JSON.stringify(o.relay)}`);
  assert.equal(o.code, 0, JSON.stringify(o.exit));
  assert.deepEqual(await treeDifferences(o.src, o.dest), []);
});

test('10% random loss, --fec 20+4, R=2: every file arrives', { timeout: 60_000 }, async (t) => {
  const o = await transfer(t, { ...SMALL_FILES, 'big.bin': 2_000_000 },
    ['--loss', '0.1', '--seed', '5'], ['--fec', '20+4', '-R', '2']);
  assert.ok(Number(o.relay.lostRandom) > 300, JSON.stringify(o.relay));
  assert.equal(o.code, 0, JSON.stringify(o.exit));
  assert.deepEqual(await treeDifferences(o.src, o.dest), []);
});

test('5% random loss with FEC too weak (20+1), R=1: each file intact or reported missing, never corrupt', { timeout: 60_000 }, async (t) => {
  const o = await transfer(t, { ...SMALL_FILES, 'big.bin': 2_000_000, 'mid.bin': 200_000 },
    ['--loss', '0.05', '--seed', '3'], ['--fec', '20+1', '-R', '1'], 4);
  assert.equal(o.code, 2, 'incomplete, as it must be at this loss');
  const report = JSON.parse(await readFile(path.join(o.root, '.dest.diodesync', 'report.json'), 'utf8'));
  const missing = new Set(report.missing.map((m: { path: string }) => m.path));
  assert.ok(missing.has('big.bin'), 'the large file could not be rebuilt and is reported');
  assert.deepEqual(report.outdated, []);
  const srcFiles = (await listTree(o.src)).filter((e) => e.type === 'file').map((e) => e.path);
  const destFiles = new Set((await listTree(o.dest)).filter((e) => e.type === 'file').map((e) => e.path));
  for (const file of srcFiles) {
    if (destFiles.has(file)) {
      assert.ok(!missing.has(file), file);
      assert.deepEqual(await readFile(path.join(o.dest, file)), await readFile(path.join(o.src, file)), file);
    } else assert.ok(missing.has(file), `${file} is neither here nor reported missing`);
  }
});
