import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { setFileTimes } from '@diodesync/native';
import type { ReceiverReport } from '@diodesync/protocol';
import { SEND_CLI, events, runSender, start, startReceiver } from './lib/cli.js';
import { tempDir } from './lib/tree.js';

/** A path under `root` given as raw name bytes: names here need not be UTF-8. */
const under = (root: string, ...names: Buffer[]) => Buffer.concat([Buffer.from(root), ...names.flatMap((n) => [Buffer.from('/'), n])]);

/** Every entry below `root`, by name bytes (hex), with its type and, for files, the SHA-256 of its content. */
function byteTree(root: Buffer, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of readdirSync(root, { withFileTypes: true, encoding: 'buffer' })) {
    const name = e.name as unknown as Buffer;
    const rel = `${prefix}${name.toString('hex')}/`;
    const full = Buffer.concat([root, Buffer.from('/'), name]);
    if (e.isDirectory()) {
      out.set(rel, 'dir');
      for (const [k, v] of byteTree(full, rel)) out.set(k, v);
    } else if (e.isFile()) out.set(rel, createHash('sha256').update(readFileSync(full)).digest('hex'));
  }
  return out;
}

/** Names Linux allows (any byte but '/' and NUL) that other tools trip over. */
const LEGAL_NAMES: Buffer[] = [
  Buffer.from([0x66, 0xff, 0x6f, 0x2e, 0x62, 0x69, 0x6e]), // not UTF-8
  Buffer.from([0xe9, 0x74, 0xe9]), // Latin-1 "été"
  Buffer.from('back\\slash'),
  Buffer.from('tab\there'),
  Buffer.from('new\nline'),
  Buffer.from('C:drive-letter'),
  Buffer.from('esc\x1b[2J'),
  Buffer.from('-starts-with-dash'),
  Buffer.from(' leading and trailing space '),
  Buffer.from('..dots..'),
  Buffer.from('question?star*pipe|'),
  Buffer.from('💀 emoji'),
  Buffer.from('a'.repeat(255)),
];

test('names Linux allows are mirrored byte for byte; special entries are skipped with a reason, never silently', { timeout: 90_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  mkdirSync(src);
  LEGAL_NAMES.forEach((name, i) => writeFileSync(under(src, name), `content ${i}\n`));
  const oddDir = Buffer.from([0x64, 0x69, 0x72, 0xfe]);
  mkdirSync(under(src, oddDir));
  writeFileSync(under(src, oddDir, Buffer.from([0x69, 0x6e, 0x6e, 0x65, 0x72, 0x80])), 'inner\n');
  // Left out, each with its reason: a FIFO, a socket, symlinks (one a loop), a temporary name, an excluded name.
  execFileSync('mkfifo', [path.join(src, 'a-fifo')]);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(path.join(src, 'a-socket'), resolve));
  t.after(() => server.close());
  symlinkSync('loop', path.join(src, 'loop'));
  symlinkSync('back\\slash', path.join(src, 'a-symlink'));
  writeFileSync(path.join(src, 'draft.tmp'), 'temporary\n');
  writeFileSync(path.join(src, 'secret.key'), 'excluded\n');

  const state = path.join(root, 'send-state');
  const receiver = await startReceiver(dest, ['--exit-when-synced', '--timeout', '60']);
  const sent = await runSender(src, `udp://127.0.0.1:${receiver.port}`, ['--once', '-R', '2', '--rate', '200m', '--exclude', '*.key', '--state', state]);
  assert.equal(sent.code, 0, sent.stderr);
  const received = await receiver.exited;
  assert.equal(received.code, 0, received.stderr);

  const expected = byteTree(Buffer.from(src));
  for (const skipped of ['a-fifo', 'a-socket', 'loop', 'a-symlink', 'draft.tmp', 'secret.key']) expected.delete(`${Buffer.from(skipped).toString('hex')}/`);
  assert.deepEqual(byteTree(Buffer.from(dest)), expected);

  const log = events(sent.stderr);
  const reasons = new Map(log.filter((e) => e.event === 'entry-skipped').map((e) => [e.path, String(e.reason)]));
  assert.match(reasons.get('a-fifo') ?? '', /FIFO/);
  assert.match(reasons.get('a-socket') ?? '', /socket/);
  assert.match(reasons.get('loop') ?? '', /symlink/);
  assert.match(reasons.get('a-symlink') ?? '', /symlink/);
  assert.match(reasons.get('draft.tmp') ?? '', /temporary/);
  assert.match(reasons.get('secret.key') ?? '', /--exclude/);
  // Once each, though the tree was scanned for each of the two passes.
  assert.equal(log.filter((e) => e.event === 'entry-skipped').length, 6);
  const done = log.find((e) => e.event === 'done')!;
  assert.equal(done.skipped, 6);
  assert.equal(done.files, 2 * (LEGAL_NAMES.length + 1));
  // The log shows a non-UTF-8 name with \xNN escapes, not U+FFFD.
  assert.ok(log.some((e) => e.event === 'file-sent' && e.path === 'f\\xffo.bin'), 'file-sent f\\xffo.bin');

  // A receiver's report naming a non-UTF-8 path (JSON holds its bytes as \udcNN) resets exactly that version.
  const report = path.join(root, 'report.json');
  writeFileSync(report, JSON.stringify({ missing: [{ path: 'f\udcffo.bin' }, { path: `dir\udcfe/inner\udc80` }], outdated: [] }));
  const reset = await start(SEND_CLI, ['ledger', 'reset', '--from-report', report, '--state', state]).exited;
  assert.equal(reset.code, 0, reset.stderr);
  assert.match(reset.stdout, /^reset 2 file/);
  assert.equal(reset.stderr, '');
});

test('mtimes before 1970 and after 2038 arrive to the nanosecond, a sparse file stays sparse', { timeout: 90_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  mkdirSync(src);
  const times: Record<string, bigint> = {
    'before-1970.txt': -86_400_123_456_789n,
    'epoch-minus-1.5s.txt': -1_500_000_000n,
    'after-2038.txt': 4_102_444_800_987_654_321n,
    'now-ish.txt': 1_764_000_000_123_456_789n,
  };
  for (const [name, ns] of Object.entries(times)) {
    writeFileSync(path.join(src, name), `${name}\n`);
    setFileTimes(path.join(src, name), ns, ns);
  }
  // 64 MiB with 4 KiB of data at each end and a hole between.
  const sparse = path.join(src, 'sparse.img');
  writeFileSync(sparse, Buffer.alloc(4096, 7));
  execFileSync('truncate', ['-s', String(64 * 1024 * 1024), sparse]);
  writeFileSync(sparse, Buffer.alloc(4096, 9), { flag: 'r+' });
  execFileSync('dd', ['if=/dev/urandom', `of=${sparse}`, 'bs=4096', 'count=1', `seek=${64 * 256 - 1}`, 'conv=notrunc'], { stdio: 'ignore' });
  utimesSync(sparse, 1_700_000_000, 1_700_000_000);
  assert.ok(statSync(sparse).blocks * 512 < 1024 * 1024, 'the source is sparse');

  const receiver = await startReceiver(dest, ['--exit-when-synced', '--timeout', '60']);
  const sent = await runSender(src, `udp://127.0.0.1:${receiver.port}`, ['--once', '-R', '1', '--rate', '1g', '--mtu', '9000']);
  assert.equal(sent.code, 0, sent.stderr);
  const received = await receiver.exited;
  assert.equal(received.code, 0, received.stderr);
  assert.match(String(events(received.stderr).find((e) => e.event === 'listening')?.native), /^addon$/);

  for (const [name, ns] of Object.entries(times)) {
    assert.equal(statSync(path.join(dest, name), { bigint: true }).mtimeNs, ns, name);
  }
  const mirrored = path.join(dest, 'sparse.img');
  assert.equal(createHash('sha256').update(readFileSync(mirrored)).digest('hex'), createHash('sha256').update(readFileSync(sparse)).digest('hex'));
  const allocated = lstatSync(mirrored).blocks * 512;
  assert.ok(allocated < 4 * 1024 * 1024, `the mirror's copy takes ${allocated} bytes of 64 MiB`);
});

test('--portable-names refuses what Windows cannot hold, lists each in the report with its reason, and exits 2 at once', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  mkdirSync(src);
  for (const name of ['fine.txt', 'colon:name', 'CON.txt', 'trailing.', 'back\\slash']) writeFileSync(path.join(src, name), `${name}\n`);
  writeFileSync(under(src, Buffer.from([0x66, 0xff])), 'not UTF-8\n');
  const receiver = await startReceiver(dest, ['--exit-when-synced', '--timeout', '50', '--portable-names']);
  const sent = await runSender(src, `udp://127.0.0.1:${receiver.port}`, ['--once', '-R', '1', '--rate', '100m']);
  assert.equal(sent.code, 0, sent.stderr);
  const received = await receiver.exited;
  assert.equal(received.code, 2, received.stderr);
  assert.equal(events(received.stderr).find((e) => e.event === 'exit')?.reason, 'refused');
  assert.deepEqual(readdirSync(dest), ['fine.txt']);
  const report = JSON.parse(await readFile(path.join(root, '.dest.diodesync', 'report.json'), 'utf8')) as ReceiverReport;
  const reasons = Object.fromEntries(report.missing.map((m) => [m.path, m.reason]));
  assert.deepEqual(Object.keys(reasons).sort(), ['CON.txt', 'back\\slash', 'colon:name', 'f\udcff', 'trailing.']);
  for (const reason of Object.values(reasons)) assert.match(reason ?? '', /^not portable: /);
  assert.match(reasons['CON.txt']!, /reserves/);
});

test('an unreadable directory is logged and makes the sender exit 2: the tree was not sent whole', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  mkdirSync(path.join(src, 'locked'), { recursive: true });
  writeFileSync(path.join(src, 'open.txt'), 'open\n');
  writeFileSync(path.join(src, 'locked', 'inside.txt'), 'inside\n');
  execFileSync('chmod', ['000', path.join(src, 'locked')]);
  t.after(() => void execFileWithStatus('chmod', ['755', path.join(src, 'locked')], {})); // before the temp dir goes, if it is still there
  // As root the kernel would let us read it anyway: drop the capabilities that bypass permissions.
  const unprivileged = process.getuid?.() === 0 ? ['setpriv', '--inh-caps=-all', '--bounding-set=-dac_override,-dac_read_search', '--'] : [];
  const [command, ...prefix] = [...unprivileged, process.execPath];
  const out = execFileWithStatus(command!, [...prefix, SEND_CLI, src, '--to', '-', '--once', '-R', '1'], {
    DIODESYNC_LOG: 'json', XDG_STATE_HOME: path.join(root, 'state'),
  });
  assert.equal(out.status, 2, out.stderr);
  const unreadable = events(out.stderr).filter((e) => e.event === 'entry-unreadable');
  assert.deepEqual(unreadable.map((e) => [e.path, e.reason]), [['locked', 'unreadable directory (EACCES)']]);
  assert.match(out.stderr, /could not be read .* not sent whole/);
  assert.equal(events(out.stderr).find((e) => e.event === 'done')?.unreadable, 1);
});

function execFileWithStatus(command: string, args: string[], env: NodeJS.ProcessEnv): { status: number | null; stderr: string } {
  try {
    execFileSync(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
    return { status: 0, stderr: '' };
  } catch (err) {
    const e = err as { status: number | null; stderr: Buffer };
    return { status: e.status, stderr: e.stderr.toString() };
  }
}
