import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { IMPAIR_CLI, RECEIVE_CLI, SEND_CLI, expectUsageError, start } from './lib/cli.js';
import { tempDir } from './lib/tree.js';

test('sender: bad input gives one line and exit 1', { timeout: 60_000 }, async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'file.txt');
  await writeFile(file, 'x');
  await expectUsageError(SEND_CLI, ['/nonexistent/dir', '--to', 'udp://127.0.0.1:1', '--once'], /does not exist/);
  await expectUsageError(SEND_CLI, [file, '--to', 'udp://127.0.0.1:1', '--once'], /not a directory/);
  await expectUsageError(SEND_CLI, [dir, '--to', 'udp:/127.0.0.1', '--once'], /invalid address/);
  await expectUsageError(SEND_CLI, [dir, '--to', 'http://127.0.0.1:80', '--once'], /unsupported scheme/);
  await expectUsageError(SEND_CLI, [dir, '--to', 'udp://127.0.0.1:70000', '--once'], /invalid port/);
  await expectUsageError(SEND_CLI, [dir, '--once'], /to/);
  await expectUsageError(SEND_CLI, [dir, '--to', 'udp://127.0.0.1:1', '--rate', 'fast'], /--rate: 'fast' is not bits per second/);
  await expectUsageError(SEND_CLI, [dir, '--to', 'udp://127.0.0.1:1', '-R', '0'], /redundancy/);
  await expectUsageError(SEND_CLI, [dir, '--to', 'udp://127.0.0.1:1', '--mtu', '100'], /mtu/);
  await expectUsageError(SEND_CLI, [dir, '--to', 'udp://127.0.0.1:1', '--fec', '30+4'], /FEC.*K must be between 1 and 24/);
  await expectUsageError(SEND_CLI, [dir, '--to', 'udp://127.0.0.1:1', '--fec', '20-4'], /invalid FEC/);
  await expectUsageError(SEND_CLI, [dir, '--to', 'udp://127.0.0.1:1', '--interleave', '0'], /interleave/);
  await expectUsageError(SEND_CLI, [dir, '--to', 'udp://127.0.0.1:1', '--onse'], /Unknown argument/);
  await expectUsageError(SEND_CLI, [dir, '--to', 'udp://127.0.0.1:1', '--config', path.join(dir, 'missing.json')], /config file not found: .*missing\.json/);
});

test('sender ledger subcommand: bad input gives one line and exit 1, and never creates a ledger', { timeout: 60_000 }, async (t) => {
  const dir = await tempDir(t);
  const state = ['--state', dir];
  await expectUsageError(SEND_CLI, ['ledger', 'list', ...state], /no ledger under /);
  await expectUsageError(SEND_CLI, ['ledger', 'frob', ...state], /Invalid values|choices/i);
  const { code, stderr } = await start(SEND_CLI, [dir, '--to', 'udp://127.0.0.1:9', '--once', ...state]).exited;
  assert.equal(code, 0, stderr);
  await expectUsageError(SEND_CLI, ['ledger', 'list', '--status', 'bogus', ...state], /--status must be one of/);
  await expectUsageError(SEND_CLI, ['ledger', 'stats', '--since', '2026-01-01', ...state], /reset criteria are for 'ledger reset'/);
  await expectUsageError(SEND_CLI, ['ledger', 'reset', ...state], /say what to reset/);
  await expectUsageError(SEND_CLI, ['ledger', 'reset', '--since', 'last tuesday', ...state], /--since: 'last tuesday' is not an ISO 8601 date-time/);
  await expectUsageError(SEND_CLI, ['ledger', 'reset', '--until', '2026-02-30 10:00', ...state], /--until: .* not a valid date-time/);
  await expectUsageError(SEND_CLI, ['ledger', 'reset', '--regex', '(', ...state], /--regex/);
  await expectUsageError(SEND_CLI, ['ledger', 'reset', '--from-report', path.join(dir, 'nope.json'), ...state], /--from-report: cannot read/);
  await expectUsageError(SEND_CLI, ['ledger', 'reset', '--all', '--onse', ...state], /Unknown argument/);
  const other = path.join(dir, 'other');
  await mkdir(other);
  // Each tree has its own ledger by default; one given by hand is refused to another tree.
  const [ledgerOfDir] = await readdir(path.join(dir, 'ledgers'));
  await expectUsageError(SEND_CLI, [other, '--to', 'udp://127.0.0.1:9', '--once', '--ledger', path.join(dir, 'ledgers', ledgerOfDir!)], /records the source .* its own --ledger/);
});

test('receiver: bad input and a port in use give one line and exit 1', { timeout: 60_000 }, async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'file.txt');
  await writeFile(file, 'x');
  await expectUsageError(RECEIVE_CLI, [file, '--listen', 'udp://127.0.0.1:0'], /not a directory/);
  await expectUsageError(RECEIVE_CLI, [path.join(dir, 'out'), '--listen', 'udp//127.0.0.1:5'], /invalid address/);
  await expectUsageError(RECEIVE_CLI, [path.join(dir, 'out'), '--listen', 'udp://127.0.0.1:0', '--state', path.join(dir, 'out', 'state')], /inside/);
  const busy = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => busy.bind(0, '127.0.0.1', resolve));
  t.after(() => busy.close());
  await expectUsageError(RECEIVE_CLI, [path.join(dir, 'out'), '--listen', `udp://127.0.0.1:${busy.address().port}`], /address already in use/);
});

test('diode-impair: bad input gives one line and exit 1', { timeout: 30_000 }, async () => {
  const base = ['--listen', 'udp://127.0.0.1:0', '--to', 'udp://127.0.0.1:9'];
  await expectUsageError(IMPAIR_CLI, [...base, '--loss', '2'], /probability/);
  await expectUsageError(IMPAIR_CLI, [...base, '--burst', '20'], /N\/M/);
  await expectUsageError(IMPAIR_CLI, [...base, '--ge', '0.1'], /P,R/);
  await expectUsageError(IMPAIR_CLI, [...base, '--rate', 'fast'], /--rate: 'fast' is not bits per second/);
  await expectUsageError(IMPAIR_CLI, ['--listen', 'udp://127.0.0.1:0'], /to/);
});

test('options come from a --config JSON file whose keys are the long option names', { timeout: 30_000 }, async (t) => {
  const dir = await tempDir(t);
  const config = path.join(dir, 'send.json');
  await writeFile(config, JSON.stringify({ to: 'udp://127.0.0.1:9', once: true, redundancy: 3, rate: '50m' }));
  const { code, stderr } = await start(SEND_CLI, [dir, '--config', config]).exited;
  assert.equal(code, 0, stderr);
  assert.match(stderr, /"redundancy":3/);
  assert.match(stderr, /"rate":"50.00 Mb\/s"/);
});

test('--help lists every option with its default', { timeout: 30_000 }, async () => {
  const send = await start(SEND_CLI, ['--help']).exited;
  assert.equal(send.code, 0);
  for (const option of ['--to', '--once', '--rate', '--redundancy', '--fec', '--interleave', '--mtu', '--config', '--resume', '--state', '--ledger', 'ledger <action>']) assert.ok(send.stdout.includes(option), option);
  assert.match(send.stdout, /default: "20\+4"/);
  const ledgerHelp = await start(SEND_CLI, ['ledger', '--help']).exited;
  assert.equal(ledgerHelp.code, 0);
  for (const option of ['--since', '--until', '--path', '--regex', '--from-report', '--dry-run', '--status', '--json']) assert.ok(ledgerHelp.stdout.includes(option), option);
  assert.match(send.stdout, /default: "100m"/);
  const receive = await start(RECEIVE_CLI, ['--help']).exited;
  assert.equal(receive.code, 0);
  for (const option of ['--listen', '--state', '--exit-when-synced', '--timeout']) assert.ok(receive.stdout.includes(option), option);
});
