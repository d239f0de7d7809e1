import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { RECEIVE_CLI, SEND_CLI, start } from './lib/cli.js';
import { makeTree, tempDir, treeDifferences } from './lib/tree.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLES = path.join(ROOT, 'examples');
const UNITS = {
  'diode-send': { bin: path.join(ROOT, 'packages/sender/bin/diode-send.js'), config: 'send.json', cli: SEND_CLI, positional: 'source-dir' },
  'diode-receive': { bin: path.join(ROOT, 'packages/receiver/bin/diode-receive.js'), config: 'receive.json', cli: RECEIVE_CLI, positional: 'dest-dir' },
};

/** Polls `check` until it returns true, or fails after `ms`. */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test('examples/systemd: both units pass systemd-analyze verify with ExecStart on this build', { timeout: 60_000 }, async (t) => {
  const dir = await tempDir(t);
  for (const [program, { bin, config }] of Object.entries(UNITS)) {
    const unit = readFileSync(path.join(EXAMPLES, 'systemd', `${program}.service`), 'utf8');
    // What the README promises: the bundle's start file, the config from examples/config, and the
    // settings a service needs (a dedicated user, its state, hardening, no restart loop on exit 1).
    assert.match(unit, new RegExp(`^ExecStart=/opt/diodesync/bin/${program} --config /etc/diodesync/${config.replace('.', '\\.')}$`, 'm'));
    for (const line of ['User=diodesync', 'RestartPreventExitStatus=1', 'ProtectSystem=strict', 'NoNewPrivileges=yes', 'PrivateTmp=yes', 'ProtectHome=yes']) {
      assert.match(unit, new RegExp(`^${line}$`, 'm'), `${program}: ${line}`);
    }
    assert.match(unit, /^StateDirectory=\S+$/m);
    assert.match(unit, /^RestrictAddressFamilies=/m);
    assert.match(unit, program === 'diode-receive' ? /^ReadWritePaths=\/srv\/mirror$/m : /^ReadOnlyPaths=\/srv\/outbox$/m);
    // systemd-analyze checks that ExecStart is an executable file: point it at this build's bin.
    writeFileSync(path.join(dir, `${program}.service`), unit.replace(`ExecStart=/opt/diodesync/bin/${program} `, `ExecStart=${bin} `));
  }
  const verify = spawnSync('systemd-analyze', ['verify', ...Object.keys(UNITS).map((p) => path.join(dir, `${p}.service`))], { encoding: 'utf8', timeout: 50_000 });
  assert.equal(verify.error, undefined, 'systemd-analyze runs');
  assert.equal(verify.status, 0, verify.stderr);
  assert.equal(verify.stderr.trim(), '', 'no warning: an unknown key or a bad value is only a warning');
});

test('examples/config: every key, commented or not, is a long option of its CLI', { timeout: 60_000 }, async () => {
  for (const { config, cli, positional } of Object.values(UNITS)) {
    const text = readFileSync(path.join(EXAMPLES, 'config', config), 'utf8');
    const keys = [...text.matchAll(/^\s*(?:\/\/\s*)?"([a-z-]+)"\s*:/gm)].map((m) => m[1]!);
    assert.ok(keys.length >= 15, `${config}: ${keys.length} keys`);
    const help = await start(cli, ['--help']).exited;
    assert.equal(help.code, 0, help.stderr);
    for (const key of keys) assert.ok(help.stdout.includes(key === positional ? key : `--${key}`), `${config}: "${key}" is an option of its CLI`);
  }
});

test('examples: both configs run a transfer; on-alert.sh reports link-down; the alert rules name served metrics', { timeout: 120_000 }, async (t) => {
  const dir = await tempDir(t);
  const source = path.join(dir, 'outbox');
  const mirror = path.join(dir, 'mirror');
  await makeTree(source, { 'report.pdf': 120_000, 'sub/notes.txt': 'notes', 'é à.txt': 'accents' });
  // The example files as they are; the command line replaces only what names this machine's
  // paths and ports. JOURNAL_STREAM: on-alert.sh writes its line to stderr, as under systemd.
  const receiver = start(RECEIVE_CLI, [
    mirror, '--config', path.join(EXAMPLES, 'config/receive.json'), '--listen', 'udp://127.0.0.1:0', '--state', path.join(dir, 'receive-state'),
    '--metrics', '127.0.0.1:0', '--on-alert', path.join(EXAMPLES, 'on-alert.sh'),
  ], { JOURNAL_STREAM: '8:12345' });
  t.after(() => receiver.kill('SIGKILL'));
  const listening = await receiver.waitForEvent('listening');
  const sent = await start(SEND_CLI, [
    source, '--config', path.join(EXAMPLES, 'config/send.json'), '--to', `udp://127.0.0.1:${String(listening.port)}`,
    '--state', path.join(dir, 'send-state'), '--once', '--pass-interval', '0', '--heartbeat', '0.3',
  ]).exited;
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(sent.stderr, /"redundancy":2,"fec":"20\+4","interleave":16/, 'the settings of send.json');
  assert.match(sent.stderr, /"crc":"(pclmul|table|zlib)","parity":"(avx2|words|codec)"/, 'which CRC and parity coders run');
  await until('the mirror', async () => (await treeDifferences(source, mirror)).length === 0);

  // The sender is gone: three heartbeats later the link is down and the script says so.
  await receiver.waitForEvent('link-down', 15_000);
  await until('on-alert.sh', () => receiver.stderr().includes('<4>diodesync: link down: no heartbeat from the sender for'));

  const metrics = await (await fetch(`http://127.0.0.1:${String(listening.metricsPort)}/metrics`)).text();
  const rules = readFileSync(path.join(EXAMPLES, 'prometheus/diodesync.rules.yml'), 'utf8');
  const receiverRules = rules.slice(0, rules.indexOf('- name: diodesync-sender'));
  const names = new Set([...receiverRules.matchAll(/\bdiodesync_[a-z_]+/g)].map((m) => m[0]));
  assert.ok(names.size >= 6, [...names].join(' '));
  for (const name of names) assert.match(metrics, new RegExp(`^${name}[ {]`, 'm'), `${name} is served by diode-receive --metrics`);
  assert.match(metrics, /^diodesync_link_up 0$/m);
  // The sender's rules name metrics its --metrics serves: a watching sender (to a port nobody
  // reads) is scraped once.
  const watching = start(SEND_CLI, [source, '--config', path.join(EXAMPLES, 'config/send.json'), '--to', 'udp://127.0.0.1:9', '--state', path.join(dir, 'watch-state'), '--metrics', '127.0.0.1:0']);
  t.after(() => watching.kill('SIGKILL'));
  const senderMetrics = await (await fetch(`http://127.0.0.1:${String((await watching.waitForEvent('metrics')).port)}/metrics`)).text();
  watching.kill('SIGTERM');
  const senderNames = new Set([...rules.slice(rules.indexOf('- name: diodesync-sender')).matchAll(/\bdiodesync_sender_[a-z_]+/g)].map((m) => m[0]));
  assert.ok(senderNames.size >= 4, [...senderNames].join(' '));
  for (const name of senderNames) assert.match(senderMetrics, new RegExp(`^${name}[ {]`, 'm'), `${name} is served by diode-send --metrics`);

  receiver.kill('SIGTERM');
  const exited = await receiver.exited;
  assert.equal(exited.signal, null, exited.stderr);
});

test('examples/on-alert.sh: one line per event, with what the receiver passes', { timeout: 30_000 }, () => {
  const script = path.join(EXAMPLES, 'on-alert.sh');
  const run = (env: Record<string, string>) => spawnSync('/bin/sh', [script], { encoding: 'utf8', env: { PATH: '/nonexistent', ...env } });
  const restart = run({ DIODESYNC_EVENT: 'sender-restart', DIODESYNC_HOST: 'low-side', DIODESYNC_SESSION: 'ab12', DIODESYNC_PREVIOUS: 'cd34', JOURNAL_STREAM: '8:1' });
  assert.equal(restart.status, 0);
  assert.equal(restart.stderr, '<5>diodesync: sender restarted on low-side: session ab12 (was cd34)\n');
  // Not under systemd and no logger(1) on the PATH: plain stderr.
  const up = run({ DIODESYNC_EVENT: 'link-up', DIODESYNC_HOST: 'low-side' });
  assert.equal(up.status, 0);
  assert.equal(up.stderr, 'diodesync: notice: link up: heartbeats from low-side again\n');
});
