import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { start } from './lib/cli.js';
import { ip, netnsRefusal } from './lib/netns.js';
import { makeTree, tempDir, treeDifferences } from './lib/tree.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** npm is pointed at a port where nothing listens: anything that asked a registry would fail. */
const NO_REGISTRY = { npm_config_registry: 'http://127.0.0.1:9/', npm_config_offline: 'true' };

/** Every symbolic link under `dir` (the bundle must have none: one could lead back into the repository). */
function symlinksUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((rel) => lstatSync(path.join(dir, rel)).isSymbolicLink());
}

test('npm run bundle: the unpacked tarball runs both programs with no registry, no network and no repository', { timeout: 300_000 }, async (t) => {
  const dir = await tempDir(t, 'diodesync-bundle-test-');
  const out = path.join(dir, 'out');
  const made = spawnSync('npm', ['run', 'bundle', '--', '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
  assert.equal(made.status, 0, made.stderr);
  const name = `diodesync-${(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}-${process.platform}-${process.arch}-node${process.versions.node.split('.')[0]}.tgz`;
  assert.deepEqual(readdirSync(out).sort(), [name, `${name}.sha256`]);
  const check = spawnSync('sha256sum', ['-c', `${name}.sha256`], { cwd: out, encoding: 'utf8' });
  assert.equal(check.status, 0, `the checksum file checks the tarball: ${check.stdout}${check.stderr}`);

  const unpacked = path.join(dir, 'high-side');
  mkdirSync(unpacked);
  const untar = spawnSync('tar', ['-C', unpacked, '-xzf', path.join(out, name)], { encoding: 'utf8' });
  assert.equal(untar.status, 0, untar.stderr);
  const top = path.join(unpacked, 'diodesync');
  assert.deepEqual(symlinksUnder(top), []);
  assert.ok(!readdirSync(top, { recursive: true, encoding: 'utf8' }).some((f) => f.endsWith('.test.js')), 'no tests in the bundle');

  // What the service examples name is there: /opt/diodesync/examples/on-alert.sh in receive.json.
  for (const f of ['examples/systemd/diode-send.service', 'examples/systemd/diode-receive.service', 'examples/config/send.json', 'examples/config/receive.json', 'examples/on-alert.sh', 'examples/prometheus/diodesync.rules.yml', 'README.md', 'LICENSE', 'BUILD-INFO.json']) {
    assert.ok(existsSync(path.join(top, f)), `the bundle holds ${f}`);
  }
  assert.ok(lstatSync(path.join(top, 'examples/on-alert.sh')).mode & 0o100, 'on-alert.sh stays executable');

  // The start files run as programs (shebang, mode), from anywhere.
  for (const program of ['diode-send', 'diode-receive', 'diode-impair']) {
    const help = spawnSync(path.join(top, 'bin', program), ['--help'], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...NO_REGISTRY }, timeout: 30_000 });
    assert.equal(help.status, 0, `${program} --help: ${help.stderr}`);
    assert.match(help.stdout, /--help/, program);
  }

  // Linked into a directory on the PATH, as the README suggests, it still finds its bundle.
  symlinkSync(path.join(top, 'bin', 'diode-send'), path.join(dir, 'diode-send'));
  const linked = spawnSync(path.join(dir, 'diode-send'), ['--help'], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  assert.equal(linked.status, 0, linked.stderr);

  // On another Node ABI (faked here: this bin expects ABI 1), one line says why instead of a crash.
  const bin = readFileSync(path.join(top, 'bin', 'diode-receive'), 'utf8');
  const otherAbi = path.join(top, 'bin', 'diode-receive-other-abi');
  writeFileSync(otherAbi, bin.replace(`!== "${process.versions.modules}"`, '!== "1"'));
  const refused = spawnSync(process.execPath, [otherAbi, '--help'], { encoding: 'utf8' });
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /^diode-receive: error: this bundle was built for Node \d+ \(ABI \d+\), this is Node .*\n$/);
  // A bundle missing a module: one line, no stack.
  const broken = path.join(top, 'bin', 'diode-receive-broken');
  writeFileSync(broken, bin.replace('@diodesync/receiver/bin', '@diodesync/nowhere/bin'));
  const failed = spawnSync(process.execPath, [broken, '--help'], { encoding: 'utf8' });
  assert.equal(failed.status, 1);
  assert.match(failed.stderr, /^diode-receive: error: cannot start: Cannot find module .*\n$/);

  // A transfer over loopback, from the unpacked copy only. Inside a network namespace of its own
  // (nothing but lo) where the kernel allows one, so the run provably reaches no network.
  const ns = `ds-bundle-${process.pid}`;
  const refusal = await netnsRefusal(`${ns}-probe`);
  if (refusal === undefined) {
    await ip('netns', 'add', ns);
    t.after(() => ip('netns', 'del', ns));
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
  } else {
    process.stdout.write(`# bundle transfer runs on the host's loopback: ${refusal}\n`);
  }
  const netns = refusal === undefined ? ns : undefined;
  const source = path.join(dir, 'source');
  const mirror = path.join(dir, 'mirror');
  await makeTree(source, { 'a.txt': 'alpha', 'dossier/données.bin': 300_000, 'empty': '' });
  const receiver = start(path.join(top, 'bin', 'diode-receive'), [mirror, '--listen', 'udp://127.0.0.1:0', '--exit-when-synced', '--timeout', '120'], NO_REGISTRY, netns);
  const listening = await receiver.waitForEvent('listening', 30_000);
  // The addon travelled in the bundle (when this machine could build it at all).
  const addonBuilt = existsSync(path.join(ROOT, 'packages/native/build/Release/diodesync_native.node'));
  assert.match(String(listening.native), addonBuilt ? /^addon$/ : /^fallback/, JSON.stringify(listening));
  const sender = start(path.join(top, 'bin', 'diode-send'), [source, '--to', `udp://127.0.0.1:${String(listening.port)}`, '--once', '--state', path.join(dir, 'send-state')], NO_REGISTRY, netns);
  const sent = await sender.exited;
  assert.equal(sent.code, 0, sent.stderr);
  const received = await receiver.exited;
  assert.equal(received.code, 0, received.stderr);
  assert.deepEqual(await treeDifferences(source, mirror), []);
});
