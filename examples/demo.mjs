#!/usr/bin/env node
// Mirrors examples/share into ./demo-mirror over loopback UDP with the two built CLIs,
// then checks the mirror file by file and says what happened.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(repo, 'examples', 'share');
const mirror = path.join(repo, 'demo-mirror');
const send = path.join(repo, 'packages', 'sender', 'dist', 'cli.js');
const receive = path.join(repo, 'packages', 'receiver', 'dist', 'cli.js');

function run(cli, args) {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'inherit', 'pipe'], env: { ...process.env, DIODESYNC_LOG: 'json' } });
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise((resolve) => child.on('close', (code) => resolve({ code, log })));
  return { child, exited, log: () => log };
}

function files(root, rel = '') {
  return readdirSync(path.join(root, rel), { withFileTypes: true }).flatMap((e) => {
    const p = rel ? `${rel}/${e.name}` : e.name;
    return e.isDirectory() ? files(root, p) : [p];
  });
}

const receiver = run(receive, [mirror, '--listen', 'udp://127.0.0.1:0', '--exit-when-synced', '--timeout', '60']);
const port = await new Promise((resolve, reject) => {
  const timer = setInterval(() => {
    const line = receiver.log().split('\n').find((l) => l.includes('"listening"'));
    if (line) {
      clearInterval(timer);
      resolve(JSON.parse(line).port);
    }
  }, 50);
  receiver.exited.then(({ log }) => reject(new Error(`receiver did not start:\n${log}`)));
});
console.log(`diodesync demo: sending ${path.relative(repo, source)}/ to udp://127.0.0.1:${port}, receiving into ${path.relative(repo, mirror)}/`);

// Its own ledger: the demo must not touch (or be refused by) the ledger of a real sender on this machine.
const state = path.join(repo, '.demo-send-state');
const sender = await run(send, [source, '--to', `udp://127.0.0.1:${port}`, '--once', '--rate', '100m', '-R', '2', '--state', state]).exited;
if (sender.code !== 0) receiver.child.kill(); // nothing more is coming: do not wait for the timeout
const received = await receiver.exited;
const done = sender.log.split('\n').filter((l) => l.includes('"done"')).map((l) => JSON.parse(l))[0];
if (sender.code !== 0 || received.code !== 0) {
  console.error(`demo failed: sender exit ${sender.code}, receiver exit ${received.code}\n${sender.log}\n${received.log}`);
  process.exit(1);
}

const sha = (p) => createHash('sha256').update(readFileSync(p)).digest('hex');
const wanted = files(source);
const bad = wanted.filter((f) => {
  try {
    const [a, b] = [path.join(source, f), path.join(mirror, f)];
    return sha(a) !== sha(b) || Math.floor(statSync(a).mtimeMs) !== Math.floor(statSync(b).mtimeMs);
  } catch {
    return true;
  }
});
console.log(`sender: ${done.files} file sends (${wanted.length} files x R=2) in ${done.seconds} s at ${done.wireRate}`);
console.log(`receiver: synced; ${wanted.length - bad.length}/${wanted.length} files identical (SHA-256 and mtime)`);
if (bad.length) {
  console.error(`differences: ${bad.join(', ')}`);
  process.exit(1);
}
console.log(`mirror: ${mirror}  (report: ${path.join(repo, '.demo-mirror.diodesync', 'report.json')})`);
