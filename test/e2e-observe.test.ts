import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RECEIVE_CLI, SEND_CLI, events, start, startReceiver } from './lib/cli.js';
import { makeTree, tempDir, treeDifferences } from './lib/tree.js';

/** The operator's view: audit lines, log levels and -q/-v, and both CLIs' /metrics scraped during a transfer. */

async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await sleep(50);
  }
}

/** One GET of /metrics, parsed into "name{labels}" -> value, with the raw text for the HELP/TYPE lines. */
async function scrape(port: number, host = '127.0.0.1'): Promise<{ text: string; value(sample: string): number | undefined }> {
  const res = await fetch(`http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`, { signal: AbortSignal.timeout(5_000) });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await res.text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return { text, value: (sample) => samples.get(sample) };
}

const sha256 = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');

test('a real transfer: each placed, replaced, deleted and renamed file is one audit line with size and SHA-256; /metrics of both ends show it', { timeout: 90_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  const state = path.join(root, 'recv-state');
  await makeTree(src, { 'keep.txt': 'keep\n', 'changing.txt': 'first version\n', 'old/doomed.txt': 'doomed\n', 'moving.bin': 200_000, 'big.bin': 1_500_000 });
  const receiver = await startReceiver(dest, ['--state', state, '--apply-deletes', '--metrics', '127.0.0.1:0']);
  t.after(() => receiver.kill('SIGKILL'));
  const receiverMetrics = Number((await receiver.waitForEvent('listening')).metricsPort);
  // 10 Mb/s: the tree takes over a second, so the first scrape falls inside the transfer.
  const sender = start(SEND_CLI, [src, '--to', `udp://127.0.0.1:${receiver.port}`, '--delete', '--settle', '0', '--rescan', '0.5', '--heartbeat', '1', '-R', '1', '--rate', '10m', '--metrics', '127.0.0.1:0', '--state', path.join(root, 'send-state')]);
  t.after(() => sender.kill('SIGKILL'));
  const senderMetrics = Number((await sender.waitForEvent('metrics')).port);

  // The metrics server is up before the first scan has filled the ledger: scrape until it has.
  const ledgerRows = (m: Awaited<ReturnType<typeof scrape>>) => (m.value('diodesync_sender_ledger_versions{status="pending"}') ?? 0) + (m.value('diodesync_sender_ledger_versions{status="sent"}') ?? 0);
  let during = await scrape(senderMetrics);
  for (const deadline = Date.now() + 10_000; ledgerRows(during) < 5 && Date.now() < deadline; during = await scrape(senderMetrics)) await sleep(20);
  for (const family of ['files_sent_total', 'file_bytes_sent_total', 'wire_bytes_sent_total', 'passes_total', 'rate_limit_bits_per_second', 'wire_rate_bits_per_second', 'ledger_versions', 'errors_total']) {
    assert.match(during.text, new RegExp(`^# TYPE diodesync_sender_${family} (counter|gauge)$`, 'm'), family);
  }
  assert.equal(during.value('diodesync_sender_rate_limit_bits_per_second'), 10e6);
  assert.ok(during.value('diodesync_sender_files_sent_total')! < 5, `scraped during the transfer: ${during.text}`);
  assert.equal(during.value('diodesync_sender_ledger_versions{status="pending"}')! + during.value('diodesync_sender_ledger_versions{status="sent"}')!, 5, during.text);

  const failure = () => `the mirror: ${sender.stderr()}\n${receiver.stderr()}`;
  await until(async () => (await treeDifferences(src, dest)).length === 0, 30_000, failure);
  const audit = () => events(receiver.stderr()).filter((e) => String(e.event).startsWith('file-'));
  await until(() => audit().length >= 5, 10_000, failure);
  const placed = new Map(audit().filter((e) => e.event === 'file-placed').map((e) => [e.path, e]));
  assert.deepEqual([...placed.keys()].sort(), ['big.bin', 'changing.txt', 'keep.txt', 'moving.bin', 'old/doomed.txt']);
  assert.equal(placed.get('big.bin')!.size, 1_500_000);
  assert.equal(placed.get('big.bin')!.sha256, await sha256(path.join(src, 'big.bin')));
  assert.equal(placed.get('big.bin')!.level, 'info');

  // Each file's placement arrived; the sender's figures now count them all.
  await until(async () => (await scrape(senderMetrics)).value('diodesync_sender_ledger_versions{status="sent"}') === 5, 10_000, failure);
  const sent = await scrape(senderMetrics);
  assert.equal(sent.value('diodesync_sender_files_sent_total'), 5);
  assert.equal(sent.value('diodesync_sender_file_bytes_sent_total'), 5 + 14 + 7 + 200_000 + 1_500_000);
  assert.ok(sent.value('diodesync_sender_wire_bytes_sent_total')! > 1_700_000);
  assert.ok(sent.value('diodesync_sender_passes_total')! >= 1);
  assert.equal(sent.value('diodesync_sender_errors_total{kind="file-unreadable"}'), 0);
  assert.equal(sent.value('diodesync_sender_errors_total{kind="link-refused"}'), 0, 'a receiver listens');

  // A new version, a delete and a rename.
  await writeFile(path.join(src, 'changing.txt'), 'second version, longer\n');
  await rm(path.join(src, 'old'), { recursive: true });
  await rename(path.join(src, 'moving.bin'), path.join(src, 'moved.bin'));
  await until(async () => (await treeDifferences(src, dest)).length === 0 && audit().length >= 8, 30_000, failure);
  const byEvent = (event: string) => audit().filter((e) => e.event === event);
  const [replaced] = byEvent('file-replaced');
  assert.equal(replaced?.path, 'changing.txt');
  assert.equal(replaced?.size, 23);
  assert.equal(replaced?.sha256, await sha256(path.join(src, 'changing.txt')));
  const [deleted] = byEvent('file-deleted');
  assert.equal(deleted?.path, 'old/doomed.txt');
  assert.equal(deleted?.size, 7);
  assert.equal(deleted?.sha256, createHash('sha256').update('doomed\n').digest('hex'));
  assert.ok(String(deleted?.quarantine).startsWith(path.join(state, 'quarantine')), String(deleted?.quarantine));
  assert.equal(await readFile(String(deleted!.quarantine), 'utf8'), 'doomed\n', 'the audit line says where the deleted file lies');
  const [renamed] = byEvent('file-renamed');
  assert.deepEqual([renamed?.path, renamed?.to, renamed?.size], ['moving.bin', 'moved.bin', 200_000]);
  assert.equal(renamed?.sha256, await sha256(path.join(src, 'moved.bin')));

  await sleep(1_500); // a heartbeat, and a status write
  const r = await scrape(receiverMetrics);
  for (const family of ['write_errors_total', 'fec_repaired_chunks_total', 'fec_repaired_blocks_total', 'changes_total', 'manifests_received_total', 'last_heartbeat_timestamp_seconds']) {
    assert.match(r.text, new RegExp(`^# TYPE diodesync_${family} (counter|gauge)$`, 'm'), family);
  }
  assert.equal(r.value('diodesync_write_errors_total'), 0, `write errors: ${JSON.stringify(events(receiver.stderr()).filter((e) => e.event === 'write-failed' || e.level === 'warn' || e.level === 'error'))}`);
  assert.equal(r.value('diodesync_changes_total{outcome="deleted"}'), 1);
  assert.equal(r.value('diodesync_changes_total{outcome="renamed"}'), 1);
  assert.ok(r.value('diodesync_manifests_received_total')! >= 2);
  // Loopback on a busy machine may drop a datagram, so repairs are counted, not expected to be 0.
  const repairedChunks = r.value('diodesync_fec_repaired_chunks_total')!;
  assert.ok(Number.isInteger(repairedChunks) && repairedChunks >= r.value('diodesync_fec_repaired_blocks_total')!, 'a repaired block rebuilt at least one chunk');
  const heartbeat = r.value('diodesync_last_heartbeat_timestamp_seconds')!;
  assert.ok(Math.abs(heartbeat - Date.now() / 1000) < 10, `last heartbeat ${heartbeat}`);

  sender.kill('SIGTERM');
  assert.equal((await sender.exited).code, 0);
  receiver.kill('SIGTERM');
  const exited = await receiver.exited;
  assert.equal(exited.code, 0);
  for (const e of [...events(exited.stderr), ...events((await sender.exited).stderr)]) assert.ok(['debug', 'info', 'warn', 'error'].includes(String(e.level)), JSON.stringify(e));
});

test('-q leaves warnings and errors only, -v adds debug lines; every JSON line has a level', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  await makeTree(src, { 'a.txt': 'a\n', 'b.tmp': 'b\n', 'c.txt': 'c\n' });
  const run = async (...flags: string[]) => {
    const { code, stderr } = await start(SEND_CLI, [src, '--to', 'udp://127.0.0.1:9', '--once', '--settle', '0', '-R', '1', '--exclude', '*.tmp', '--state', path.join(root, 'state'), ...flags]).exited;
    assert.equal(code, 0, stderr);
    return events(stderr);
  };
  const normal = await run();
  assert.ok(normal.some((e) => e.event === 'start' && e.level === 'info'));
  assert.ok(normal.some((e) => e.event === 'file-sent'));
  assert.ok(normal.some((e) => e.event === 'entry-skipped' && e.path === 'b.tmp' && e.level === 'info'), 'nothing is left out silently');
  assert.ok(!normal.some((e) => e.event === 'scan'), 'each scan is a debug line');
  const verbose = await run('-v');
  assert.ok(verbose.some((e) => e.event === 'scan' && e.level === 'debug' && e.files === 2));
  const quiet = await run('-q');
  assert.deepEqual(quiet.filter((e) => e.level !== 'warn' && e.level !== 'error'), []);

  // The receiver: -q hides the start and exit lines, a warning still shows.
  const dest = path.join(root, 'dest');
  const q = await start(RECEIVE_CLI, [dest, '--listen', 'udp://127.0.0.1:0', '--exit-when-synced', '--timeout', '1', '-q']).exited;
  assert.equal(q.code, 2);
  assert.deepEqual(events(q.stderr).filter((e) => e.level !== 'warn' && e.level !== 'error'), [], q.stderr);
  const v = await start(RECEIVE_CLI, [dest, '--listen', 'udp://127.0.0.1:0', '--exit-when-synced', '--timeout', '1', '--verbose']).exited;
  assert.ok(events(v.stderr).some((e) => e.event === 'listening' && e.level === 'info'), v.stderr);
  assert.ok(events(v.stderr).some((e) => e.event === 'exit'), v.stderr);
});

test('--metrics PORT and :PORT serve on every interface, HOST:PORT on that host only; a bad address is one line, exit 1', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const dest = path.join(root, 'dest');
  // Where loopback has no IPv6, only the IPv4 side can be checked.
  const hasV6 = await new Promise<boolean>((resolve) => {
    const probe = net.createServer().once('error', () => resolve(false)).listen(0, '::1', () => probe.close(() => resolve(true)));
  });
  for (const [spec, everywhere] of [['0', true], [':0', true], ['127.0.0.1:0', false]] as const) {
    const receiver = await startReceiver(dest, ['--metrics', spec]);
    t.after(() => receiver.kill('SIGKILL'));
    const port = Number((await receiver.waitForEvent('listening')).metricsPort);
    assert.ok((await scrape(port)).value('diodesync_frames_received_total') !== undefined);
    if (hasV6) {
      const v6 = await scrape(port, '::1').then(() => true, () => false);
      assert.equal(v6, everywhere, `--metrics ${spec} on ::1`);
    }
    receiver.kill('SIGTERM');
    await receiver.exited;
  }
  const src = path.join(root, 'src');
  await makeTree(src, { 'a.txt': 'a\n' });
  const sender = start(SEND_CLI, [src, '--to', 'udp://127.0.0.1:9', '--metrics', ':0', '--state', path.join(root, 'state')]);
  t.after(() => sender.kill('SIGKILL'));
  const port = Number((await sender.waitForEvent('metrics')).port);
  assert.ok((await scrape(port)).value('diodesync_sender_files_sent_total') !== undefined);
  sender.kill('SIGTERM');
  assert.equal((await sender.exited).code, 0);

  for (const [cli, args] of [[SEND_CLI, [src, '--to', 'udp://127.0.0.1:9']], [RECEIVE_CLI, [dest, '--listen', 'udp://127.0.0.1:0']]] as const) {
    const bad = await start(cli, [...args, '--metrics', 'localhost']).exited;
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^diode-(send|receive): error: invalid --metrics 'localhost' \(expected PORT, :PORT or HOST:PORT, e\.g\. 9100/);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  }
});
