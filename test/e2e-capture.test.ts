import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeDatagram, FrameType } from '@diodesync/protocol';
import { RECEIVE_CLI, SEND_CLI, events, start, type Exited } from './lib/cli.js';
import { framesOf, toPcap, toPcapng } from './lib/pcap.js';
import { listTree, makeTree, tempDir, treeDifferences } from './lib/tree.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/capture/', import.meta.url));
const TREE = { 'a.txt': 'alpha\n', 'big.bin': 300_000, 'sub dir/naïve.bin': 40_000, 'sub dir/deeper/c.bin': 7_000, 'empty': '' };

/** diode-send --to pcap:FILE: the wire of one --once run, as our own writer writes it. */
async function captureOfTree(t: Parameters<typeof tempDir>[0], redundancy = '1'): Promise<{ root: string; src: string; capture: string }> {
  const root = await tempDir(t);
  const src = path.join(root, 'src');
  const capture = path.join(root, 'wire.pcapng');
  await makeTree(src, TREE);
  const sent = await start(SEND_CLI, [src, '--to', `pcap:${capture}`, '--once', '-R', redundancy, '--rate', '1g', '--state', path.join(root, 'send-state')]).exited;
  assert.equal(sent.code, 0, sent.stderr);
  return { root, src, capture };
}

/** The state directory the tests give each receiver: beside its dest. */
const stateOf = (dest: string) => path.join(path.dirname(dest), `.${path.basename(dest)}.diodesync`);

async function rebuild(listen: string, dest: string, extra: string[] = []): Promise<Exited & { exit: Record<string, unknown> }> {
  const run = await start(RECEIVE_CLI, [dest, '--listen', listen, '--exit-when-synced', '--state', stateOf(dest), ...extra]).exited;
  const exit = events(run.stderr).find((e) => e.event === 'exit') ?? {};
  return { ...run, exit };
}

/** The receiver's counters as its last status.json has them. */
async function counters(dest: string): Promise<{ capture: Record<string, number>; framesReceived: number }> {
  const status = JSON.parse(await readFile(path.join(stateOf(dest), 'status.json'), 'utf8')) as { counters: { capture: Record<string, number>; framesReceived: number } };
  return status.counters;
}

test('our own pcapng, and its rewrites into classic pcap (both byte orders, µs and ns) and big-endian multi-section pcapng over Ethernet+802.1Q+FCS, SLL, SLL2 and raw IP, each rebuild the tree exactly', { timeout: 120_000 }, async (t) => {
  const { root, src, capture } = await captureOfTree(t);
  const frames = framesOf(await readFile(capture));
  assert.ok(frames.length > 200, `${frames.length} frames`);
  const variants: [string, Buffer][] = [
    ['own.pcapng', await readFile(capture)],
    ['be-nano-vlan-fcs.pcap', toPcap(frames, 'vlan+fcs', { bigEndian: true, nano: true })],
    ['le-micro-sll.pcap', toPcap(frames, 'sll', { bigEndian: false, nano: false })],
    ['be-sll2.pcapng', toPcapng(frames, 'sll2', true)],
    ['le-nano-raw.pcap', toPcap(frames, 'raw', { bigEndian: false, nano: true })],
  ];
  for (const [name, bytes] of variants) {
    const file = path.join(root, name);
    await writeFile(file, bytes);
    const dest = path.join(root, `dest-${name}`);
    const run = await rebuild(`pcap:${file}`, dest);
    assert.equal(run.code, 0, `${name}: ${run.stderr}`);
    assert.equal(run.exit.reason, 'synced', name);
    assert.deepEqual(await treeDifferences(src, dest), [], name);
    const c = await counters(dest);
    assert.deepEqual(c.capture, { fragments: 0, truncated: 0, ignored: 0, kernelDropped: 0 }, name);
  }
});

test('pcap:- reads a capture from a pipe (as from tcpdump -w -) and its end ends the run', { timeout: 60_000 }, async (t) => {
  const { root, src, capture } = await captureOfTree(t);
  const dest = path.join(root, 'dest');
  const receiver = spawn(process.execPath, [RECEIVE_CLI, dest, '--listen', 'pcap:-', '--state', stateOf(dest)], { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, DIODESYNC_LOG: 'json' } });
  t.after(() => receiver.kill('SIGKILL'));
  let log = '';
  receiver.stderr.on('data', (d) => (log += d));
  receiver.stdin.end(await readFile(capture));
  const code = await new Promise((resolve) => receiver.on('close', resolve));
  assert.equal(code, 0, log);
  assert.deepEqual(await treeDifferences(src, dest), []);
});

/** Byte offsets where each record (pcapng block) of our writer's file starts. */
function recordStarts(pcapng: Buffer): number[] {
  const starts: number[] = [];
  for (let at = 0; at + 8 <= pcapng.length; at += pcapng.readUInt32LE(at + 4)) starts.push(at);
  return starts;
}

test('a capture cut in the middle of a record: counted, never a crash; what it holds is rebuilt, and its end ends the run', { timeout: 60_000 }, async (t) => {
  const { root, src, capture } = await captureOfTree(t, '2');
  const whole = await readFile(capture);
  const starts = recordStarts(whole);
  // Late in the second pass: the first pass and its manifest are whole, so the mirror completes.
  const late = path.join(root, 'late.pcapng');
  await writeFile(late, whole.subarray(0, starts[Math.floor(starts.length * 0.9)]! + 30));
  const lateRun = await rebuild(`pcap:${late}`, path.join(root, 'dest-late'));
  assert.equal(lateRun.code, 0, lateRun.stderr);
  assert.deepEqual(await treeDifferences(src, path.join(root, 'dest-late')), []);
  assert.equal((await counters(path.join(root, 'dest-late'))).capture.truncated, 1);
  assert.ok(events(lateRun.stderr).some((e) => e.event === 'capture-cut'));
  // Early in the first pass: no manifest yet, so the mirror cannot be complete: exit 2 at once, no --timeout.
  const early = path.join(root, 'early.pcapng');
  await writeFile(early, whole.subarray(0, starts[Math.floor(starts.length * 0.2)]! + 7));
  const began = Date.now();
  const earlyRun = await rebuild(`pcap:${early}`, path.join(root, 'dest-early'));
  assert.equal(earlyRun.code, 2, earlyRun.stderr);
  assert.equal(earlyRun.exit.reason, 'end of input');
  assert.ok(Date.now() - began < 20_000);
  assert.equal((await counters(path.join(root, 'dest-early'))).capture.truncated, 1);
  assert.ok(!earlyRun.stderr.includes('    at '), 'no stack trace');
});

test('a capture that lacks one file\'s data: the rest is rebuilt, that file is reported missing, exit 2 at the end of the file', { timeout: 60_000 }, async (t) => {
  const { root, src, capture } = await captureOfTree(t);
  const whole = await readFile(capture);
  // The object with the most data frames (big.bin) loses all of them; its header stays.
  const dataOf = new Map<number, number>();
  const starts = recordStarts(whole);
  const datagramAt = (at: number) => whole.subarray(at + 28 + 42, at + 28 + whole.readUInt32LE(at + 20));
  for (const at of starts) {
    if (whole.readUInt32LE(at) !== 6) continue;
    const d = decodeDatagram(Buffer.from(datagramAt(at)));
    if (d.ok && d.frame.header.type === FrameType.Data) dataOf.set(d.frame.header.objectId, (dataOf.get(d.frame.header.objectId) ?? 0) + 1);
  }
  const victim = [...dataOf.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  const kept = starts.filter((at) => {
    if (whole.readUInt32LE(at) !== 6) return true;
    const d = decodeDatagram(Buffer.from(datagramAt(at)));
    return !(d.ok && d.frame.header.objectId === victim && d.frame.header.type !== FrameType.ObjectHeader);
  });
  const lacking = path.join(root, 'lacking.pcapng');
  await writeFile(lacking, Buffer.concat(kept.map((at) => whole.subarray(at, at + whole.readUInt32LE(at + 4)))));
  const dest = path.join(root, 'dest');
  const run = await rebuild(`pcap:${lacking}`, dest, ['--timeout', '600']);
  assert.equal(run.code, 2, run.stderr);
  const report = JSON.parse(await readFile(String(run.exit.report), 'utf8')) as { missing: { path: string }[]; partial: unknown[] };
  assert.deepEqual([...report.missing.map((m) => m.path)], ['big.bin']);
  const differences = await treeDifferences(src, dest);
  assert.deepEqual(differences, ['missing big.bin']);
});

/** Names and bytes (a committed fixture's mtimes are its checkout time, not the capture's). */
async function sameContent(a: string, b: string): Promise<void> {
  const [left, right] = [await listTree(a), await listTree(b)];
  assert.deepEqual(right.map((e) => [e.path, e.type, e.size]), left.map((e) => [e.path, e.type, e.size]));
  for (const e of left.filter((x) => x.type === 'file')) assert.ok((await readFile(path.join(a, e.path))).equals(await readFile(path.join(b, e.path))), e.path);
}

test('captures written by real tcpdump (test/fixtures/capture: -i lo with UDP GSO super-packets, -i any as SLL2) rebuild exactly', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  for (const name of ['tcpdump-lo.pcap', 'tcpdump-any.pcap']) {
    const dest = path.join(root, name);
    const run = await rebuild(`pcap:${path.join(FIXTURES, name)}`, dest);
    assert.equal(run.code, 0, `${name}: ${run.stderr}`);
    await sameContent(path.join(FIXTURES, 'tree'), dest);
  }
});

test('bad capture inputs: one line, exit 1', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const notCapture = path.join(root, 'notes.txt');
  await writeFile(notCapture, 'just some text, not a capture\n');
  const cases: [string, RegExp][] = [
    [`pcap:${path.join(root, 'absent.pcap')}`, /cannot read pcap:.*no such file/],
    [`pcap:${notCapture}`, /is not a pcap or pcapng capture/],
    ['pcap:', /names no file/],
    ['capture://nosuch0:9', /capture:\/\/nosuch0: no such interface/],
  ];
  for (const [listen, message] of cases) {
    const run = await start(RECEIVE_CLI, [path.join(root, 'dest'), '--listen', listen]).exited;
    assert.equal(run.code, 1, `${listen}: ${run.stderr}`);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0]!, message);
  }
});

test('capture:// without CAP_NET_RAW: one line that says so and how, exit 1; with CAP_NET_RAW alone, no root, it runs', { timeout: 30_000 }, async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to drop to an unprivileged user');
  const root = await tempDir(t);
  await chmod(root, 0o777);
  // As user nobody where it can read this checkout; where it cannot (a clone under a private
  // directory), as uid 0 with every capability dropped but the one asked about (and reading files).
  const asNobody = ['--reuid=65534', '--regid=65534', '--clear-groups'];
  const nobodyReads = spawnSync('setpriv', [...asNobody, process.execPath, '-e', `require('fs').accessSync(${JSON.stringify(RECEIVE_CLI)})`]).status === 0;
  const withoutNetRaw = nobodyReads ? [...asNobody, '--inh-caps=-all'] : ['--inh-caps=-net_raw', '--bounding-set=-net_raw'];
  const netRawOnly = nobodyReads ? [...asNobody, '--inh-caps=+net_raw', '--ambient-caps=+net_raw'] : ['--bounding-set=-all,+net_raw,+dac_read_search'];
  const run = spawnSync('setpriv', [...withoutNetRaw, process.execPath, RECEIVE_CLI, path.join(root, 'dest'), '--state', path.join(root, 'state'), '--listen', 'capture://lo:9'], { encoding: 'utf8', timeout: 20_000 });
  if (run.error) return t.skip(`setpriv: ${run.error.message}`);
  assert.equal(run.status, 1, run.stderr);
  assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  assert.match(run.stderr, /needs CAP_NET_RAW: run as root, or give it to the service/);

  // CAP_NET_RAW alone (no root) is enough: the receiver listens on the addon's path.
  const capable = spawn('setpriv', [...netRawOnly,
    process.execPath, RECEIVE_CLI, path.join(root, 'dest2'), '--state', path.join(root, 'state2'), '--listen', 'capture://lo:9'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DIODESYNC_LOG: 'json' } });
  t.after(() => capable.kill('SIGKILL'));
  let log = '';
  const listening = await new Promise<Record<string, unknown> | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 15_000);
    capable.stderr.on('data', (d) => {
      log += d;
      const line = events(log).find((e) => e.event === 'listening');
      if (line) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    capable.on('close', () => resolve(undefined));
  });
  assert.equal(listening?.io, 'af_packet', log);
  capable.kill('SIGTERM');
  await new Promise((resolve) => capable.on('close', resolve));
});

const tcpdumpAbsent = spawnSync('tcpdump', ['--version']).error !== undefined;

for (const [path_, env] of [['the addon (AF_PACKET)', {}], ['the tcpdump fallback (no addon)', { DIODESYNC_NATIVE: '0' }]] as const) {
  test(`capture://lo through ${path_}: a tree mirrors, and the listening line says which path runs`, { timeout: 60_000 }, async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root (CAP_NET_RAW)');
    if ('DIODESYNC_NATIVE' in env && tcpdumpAbsent) {
      process.stdout.write('# tcpdump fallback test skipped: tcpdump is absent on this machine\n');
      return t.skip('tcpdump is absent: the fallback cannot run here');
    }
    const root = await tempDir(t);
    const src = path.join(root, 'src');
    const dest = path.join(root, 'dest');
    await makeTree(src, TREE);
    const port = 40_000 + ((process.pid * 7 + ('DIODESYNC_NATIVE' in env ? 1 : 0)) % 20_000);
    const receiver = start(RECEIVE_CLI, [dest, '--listen', `capture://lo:${port}`, '--exit-when-synced', '--timeout', '45'], env);
    t.after(() => receiver.kill('SIGKILL'));
    const listening = await receiver.waitForEvent('listening');
    assert.match(String(listening.io), 'DIODESYNC_NATIVE' in env ? /^tcpdump \(no addon: disabled by DIODESYNC_NATIVE=0\)/ : /^af_packet$/);
    const sent = await start(SEND_CLI, [src, '--to', `udp://127.0.0.1:${port}`, '--once', '-R', '2', '--rate', '100m', '--state', path.join(root, 'send-state')]).exited;
    assert.equal(sent.code, 0, sent.stderr);
    const received = await receiver.exited;
    assert.equal(received.code, 0, received.stderr);
    assert.deepEqual(await treeDifferences(src, dest), []);
  });
}
