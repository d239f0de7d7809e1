import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { IMPAIR_CLI, RECEIVE_CLI, SEND_CLI, events, expectUsageError, start, startImpairRelay } from './lib/cli.js';
import { tempDir } from './lib/tree.js';

/** Every CLI (and subcommand) with a --help of its own. */
const HELPS: [string, string[]][] = [[SEND_CLI, []], [SEND_CLI, ['ledger']], [RECEIVE_CLI, []], [RECEIVE_CLI, ['status']], [IMPAIR_CLI, []]];

test('ambiguous or malformed values: one line naming the option, with an example, exit 1', { timeout: 120_000 }, async (t) => {
  const dir = await tempDir(t);
  const send = [dir, '--to', 'udp://127.0.0.1:9', '--once', '--state', dir];
  await expectUsageError(SEND_CLI, [...send, '--rate', '10MB'], /^diode-send: error: --rate: '10MB' is bytes per second, .*did you mean 80m\?$/);
  await expectUsageError(SEND_CLI, [...send, '--rate', '-5m'], /^diode-send: error: --rate: '-5m' is negative; e\.g\. --rate 800m$/);
  await expectUsageError(SEND_CLI, [...send, '-l', 'abc'], /^diode-send: error: -l: 'abc' is not a number of kbit\/s; e\.g\. -l 800000$/);
  await expectUsageError(SEND_CLI, [...send, '--rate', 'NaN'], /--rate: 'NaN' is not bits per second.*e\.g\. --rate 800m/);
  await expectUsageError(SEND_CLI, [...send, '--rate', ''], /--rate: empty; .*e\.g\. --rate 800m/);
  await expectUsageError(SEND_CLI, [...send, '--settle', '5x'], /--settle: '5x': unknown unit 'x'.*e\.g\. --settle 2000/);
  await expectUsageError(SEND_CLI, [...send, '--heartbeat', '-1'], /--heartbeat: '-1' is negative/);
  await expectUsageError(SEND_CLI, [...send, '--rescan', '0'], /--rescan: must be above zero/);
  await expectUsageError(SEND_CLI, [...send, '-R', 'two'], /--redundancy: expected a whole number from 1 to 1000; e\.g\. --redundancy 2/);
  await expectUsageError(SEND_CLI, [...send, '--include', '['], /--include '\[': not a valid glob/);
  await expectUsageError(SEND_CLI, [...send, '--exclude', '{a,b'], /--exclude '\{a,b': not a valid glob/);
  await expectUsageError(SEND_CLI, ['ledger', 'reset', '--path', 'docs/[', '--state', dir], /--path 'docs\/\[': not a valid glob/);
  const receive = [`${dir}/mirror`, '--listen', 'udp://127.0.0.1:0'];
  await expectUsageError(RECEIVE_CLI, [...receive, '--max-buffer', '64mb'], /--max-buffer: '64mb': b is a bit, and sizes are in bytes: did you mean 64m\?$/);
  await expectUsageError(RECEIVE_CLI, [...receive, '--min-free', '-1g'], /--min-free: '-1g' is negative; e\.g\. --min-free 1g or --min-free 5%/);
  await expectUsageError(RECEIVE_CLI, [...receive, '--min-free', '101%'], /--min-free: '101%': at most 100%/);
  await expectUsageError(RECEIVE_CLI, [...receive, '--rcvbuf', ''], /--rcvbuf: empty/);
  await expectUsageError(RECEIVE_CLI, [...receive, '--timeout', 'soon'], /--timeout: 'soon' is not a duration.*e\.g\. --timeout 600/);
  await expectUsageError(RECEIVE_CLI, [...receive, '--partial-ttl', 'NaN'], /--partial-ttl: 'NaN' is not a duration/);
  const impair = ['--listen', 'udp://127.0.0.1:0', '--to', 'udp://127.0.0.1:9'];
  await expectUsageError(IMPAIR_CLI, [...impair, '--rate', '1MB'], /--rate: .*did you mean 8m\?/);
  await expectUsageError(IMPAIR_CLI, [...impair, '--queue', '-1k'], /--queue: '-1k' is negative/);
  await expectUsageError(IMPAIR_CLI, [...impair, '--stats', 'often'], /--stats: 'often' is not a duration/);
});

test('rates and durations with units are taken as written', { timeout: 60_000 }, async (t) => {
  const dir = await tempDir(t);
  const run = await start(SEND_CLI, [dir, '--to', 'udp://127.0.0.1:9', '--once', '--state', dir, '--rate', '50Mbps', '--settle', '1s', '--heartbeat', '1m']).exited;
  assert.equal(run.code, 0, run.stderr);
  assert.equal(events(run.stderr).find((e) => e.event === 'start')?.rate, '50.00 Mb/s');
});

test('an option that changes nothing without another is named on one line, and the run goes on', { timeout: 60_000 }, async (t) => {
  const dir = await tempDir(t);
  const sent = await start(SEND_CLI, [dir, '--to', 'udp://127.0.0.1:9', '--once', '--state', dir, '--rescan', '5', '--ttl', '4', '-l', '1000', '--rate', '5m', '--fec', '0', '--interleave', '4']).exited;
  assert.equal(sent.code, 0, sent.stderr);
  const ignored = (log: string) => events(log).filter((e) => e.event === 'option-ignored').map((e) => e.option).sort();
  assert.deepEqual(ignored(sent.stderr), ['--interleave', '--rate', '--rescan', '--ttl']);
  assert.ok(events(sent.stderr).some((e) => e.event === 'done'));
  // stdin is /dev/null: the receiver reads its end at once and stops.
  const received = await start(RECEIVE_CLI, [`${dir}/mirror`, '--listen', '-', '--timeout', '60', '--quarantine-days', '1', '--rcvbuf', '1m']).exited;
  assert.deepEqual(ignored(received.stderr), ['--quarantine-days', '--rcvbuf', '--timeout']);
  assert.ok(events(received.stderr).some((e) => e.event === 'listening'), received.stderr);
  const relay = await startImpairRelay(9, ['--queue', '1m']);
  relay.kill();
  assert.deepEqual(ignored((await relay.exited).stderr), ['--queue']);
  const quiet = await start(SEND_CLI, [dir, '--to', 'udp://127.0.0.1:9', '--once', '--state', dir]).exited;
  assert.deepEqual(ignored(quiet.stderr), [], 'defaults warn of nothing');
  // A config file gives numbers: its defaults warn of nothing either, other values do.
  const config = `${dir}/send.json`;
  await writeFile(config, JSON.stringify({ to: 'udp://127.0.0.1:9', once: true, rescan: 3600, 'manifest-interval': 300, settle: 0 }));
  const fromConfig = await start(SEND_CLI, [dir, '--config', config, '--state', dir]).exited;
  assert.equal(fromConfig.code, 0, fromConfig.stderr);
  assert.deepEqual(ignored(fromConfig.stderr), []);
  await writeFile(config, JSON.stringify({ to: 'udp://127.0.0.1:9', once: true, rescan: 5 }));
  assert.deepEqual(ignored((await start(SEND_CLI, [dir, '--config', config, '--state', dir]).exited).stderr), ['--rescan']);
});

test('--version on every CLI prints its package version, which each start line carries too', { timeout: 60_000 }, async (t) => {
  const version = (pkg: string) => (JSON.parse(readFileSync(new URL(`../../packages/${pkg}/package.json`, import.meta.url), 'utf8')) as { version: string }).version;
  for (const [cli, pkg] of [[SEND_CLI, 'sender'], [RECEIVE_CLI, 'receiver'], [IMPAIR_CLI, 'impair']] as const) {
    const run = await start(cli, ['--version']).exited;
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `${version(pkg)}\n`);
  }
  const dir = await tempDir(t);
  const sent = await start(SEND_CLI, [dir, '--to', 'udp://127.0.0.1:9', '--once', '--state', dir]).exited;
  assert.equal(events(sent.stderr).find((e) => e.event === 'start')?.version, version('sender'));
  const received = await start(RECEIVE_CLI, [`${dir}/mirror`, '--listen', '-']).exited;
  assert.equal(events(received.stderr).find((e) => e.event === 'listening')?.version, version('receiver'));
  const relay = await startImpairRelay(9, []);
  relay.kill();
  assert.equal(events((await relay.exited).stderr).find((e) => e.event === 'listening')?.version, version('impair'));
});

test('--help wraps at spaces only: at 40, 80 and 120 columns every word of the help appears whole', { timeout: 120_000 }, () => {
  const help = (cli: string, args: string[], columns: number) => {
    const run = spawnSync(process.execPath, [cli, ...args, '--help'], { env: { ...process.env, COLUMNS: String(columns) }, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    return run.stdout;
  };
  const words = (text: string) => text.split(/\s+/).filter(Boolean).sort();
  for (const [cli, args] of HELPS) {
    const unwrapped = help(cli, args, 0);
    assert.ok(unwrapped.includes('--help'), 'the reference is a help text');
    for (const columns of [40, 80, 120]) {
      const text = help(cli, args, columns);
      const what = `${cli} ${args.join(' ')} at ${columns}`;
      // The same words as unwrapped, each whole: a word cut in half would be two others.
      assert.deepEqual(words(text), words(unwrapped), what);
      for (const line of text.split('\n')) {
        assert.ok(line.length <= columns || line.trim().split(' ').length === 1 || /^\[default: [^\]]*\]$/.test(line.trim()), `${what}: line too long: ${line}`);
      }
    }
  }
});
