#!/usr/bin/env node
// `npm run bundle [-- --out DIR]`: one tarball with the built programs and every module they load,
// native addons compiled for this machine, so that a host with no registry (the high side of a
// diode) installs it with `tar xzf` and nothing else:
//
//   diodesync/bin/diode-send, diode-receive, diode-impair   start the programs (check the Node ABI)
//   diodesync/node_modules/@diodesync/*                      our packages, as `npm pack` ships them
//   diodesync/node_modules/...                               their production dependencies, as installed here
//   diodesync/examples/, README.md, LICENSE, BUILD-INFO.json what was built, from what, for what
//
// Beside the tarball, NAME.tgz.sha256 for `sha256sum -c`.
// It copies what `npm install` put in node_modules here rather than installing again: the bundle
// is made on the connected side, from the tree the tests ran on.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { binScript } from './bundle-bin.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PROGRAMS = { 'diode-send': '@diodesync/sender', 'diode-receive': '@diodesync/receiver', 'diode-impair': '@diodesync/impair' };
/** What of the repository's top level an operator needs beside the programs. */
const EXTRAS = ['README.md', 'LICENSE', 'examples/systemd', 'examples/config', 'examples/prometheus', 'examples/on-alert.sh'];

function main() {
  const outIndex = process.argv.indexOf('--out');
  const outDir = path.resolve(outIndex > 0 ? process.argv[outIndex + 1] ?? '' : path.join(ROOT, 'bundle'));
  const root = readJson(path.join(ROOT, 'package.json'));
  const nodeMajor = process.versions.node.split('.')[0];
  const name = `diodesync-${root.version}-${process.platform}-${process.arch}-node${nodeMajor}`;
  const stage = mkdtempSync(path.join(tmpdir(), 'diodesync-bundle-'));
  try {
    const top = path.join(stage, 'diodesync');
    const workspaces = packWorkspaces(top);
    copyDependencies(top, workspaces);
    for (const [program, pkg] of Object.entries(PROGRAMS)) {
      const bin = readJson(path.join(top, 'node_modules', pkg, 'package.json')).bin[program];
      const file = path.join(top, 'bin', program);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, binScript(program, path.posix.join('node_modules', pkg, bin)));
      chmodSync(file, 0o755);
    }
    for (const extra of EXTRAS) {
      if (existsSync(path.join(ROOT, extra))) cpSync(path.join(ROOT, extra), path.join(top, extra), { recursive: true });
    }
    // CommonJS: the bin files have no extension, and Node reads such a file as a script only there.
    writeJson(path.join(top, 'package.json'), { name: 'diodesync-bundle', version: root.version, private: true, type: 'commonjs', license: root.license, description: root.description });
    writeJson(path.join(top, 'BUILD-INFO.json'), {
      version: root.version, commit: git('rev-parse', 'HEAD'), builtAt: new Date().toISOString(),
      platform: process.platform, arch: process.arch, node: process.versions.node, nodeAbi: process.versions.modules,
      nativeAddon: existsSync(path.join(top, 'node_modules/@diodesync/native/build/Release/diodesync_native.node')) ? 'built' : 'not built: the pure-Node fallback runs',
    });
    mkdirSync(outDir, { recursive: true });
    const tarball = path.join(outDir, `${name}.tgz`);
    run('tar', ['-C', stage, '--owner=0', '--group=0', '--numeric-owner', '--sort=name', '-czf', tarball, 'diodesync']);
    // The checksum travels with the tarball: `sha256sum -c NAME.tgz.sha256` on the other side.
    const sha256 = createHash('sha256').update(readFileSync(tarball)).digest('hex');
    writeFileSync(`${tarball}.sha256`, `${sha256}  ${path.basename(tarball)}\n`);
    console.log(`${tarball} (${(statSync(tarball).size / 1e6).toFixed(1)} MB, sha256 ${sha256})`);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/**
 * Our packages, each exactly as `npm pack` would ship it (its prepack builds it first), into
 * node_modules/@diodesync/NAME; plus the addon npm would compile on install, compiled here.
 * Returns the workspace directory of each package name.
 */
function packWorkspaces(top) {
  const packed = JSON.parse(run('npm', ['pack', '--dry-run', '--json', '--workspaces'], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const dirs = new Map();
  for (const [i, pkg] of packed.entries()) {
    const dir = path.join(ROOT, readJson(path.join(ROOT, 'package.json')).workspaces[i]);
    if (readJson(path.join(dir, 'package.json')).name !== pkg.name) throw new Error(`npm pack listed ${pkg.name} out of order`);
    dirs.set(pkg.name, dir);
    const into = path.join(top, 'node_modules', pkg.name);
    for (const { path: file } of pkg.files) cpSync(path.join(dir, file), path.join(into, file));
    copyAddons(dir, into);
  }
  return dirs;
}

/**
 * The production dependencies of the programs, as `npm ls` finds them, at the same place relative
 * to the package that needs them, so Node resolves them in the bundle as it does here.
 */
function copyDependencies(top, workspaces) {
  const args = ['ls', '--omit=dev', '--all', '--parseable', ...Object.values(PROGRAMS).flatMap((p) => ['-w', p])];
  const found = run('npm', args).split('\n').filter(Boolean);
  for (const dir of new Set(found)) {
    const rel = path.relative(ROOT, dir);
    const into = bundlePath(rel, workspaces);
    if (into === undefined) continue;
    cpSync(dir, path.join(top, into), {
      recursive: true,
      dereference: true,
      // Nested node_modules come as packages of their own (only the production ones); a native
      // build keeps its compiled addons and leaves its objects behind.
      filter: (src) => {
        const inner = path.relative(dir, src).split(path.sep);
        if (inner[0] === 'node_modules') return false;
        if (inner[0] === 'build' && existsSync(path.join(dir, 'binding.gyp'))) return inner.length === 1 || (inner[1] === 'Release' && (inner.length === 2 || (inner.length === 3 && inner[2].endsWith('.node'))));
        return true;
      },
    });
  }
}

/** Where a package found at `rel` (under the repository) goes in the bundle; undefined: not copied here. */
function bundlePath(rel, workspaces) {
  if (rel === '' || rel.startsWith(`node_modules${path.sep}@diodesync${path.sep}`)) return undefined; // the root, and our own (packed above)
  if (rel.startsWith(`node_modules${path.sep}`)) return rel;
  for (const [name, dir] of workspaces) {
    const own = path.relative(ROOT, dir) + path.sep;
    if (rel.startsWith(own)) return path.join('node_modules', name, rel.slice(own.length));
  }
  throw new Error(`npm ls found a package outside node_modules: ${rel}`);
}

/** A workspace's compiled addons (build/Release/*.node) and the note left when none was built. */
function copyAddons(dir, into) {
  const release = path.join(dir, 'build', 'Release');
  if (existsSync(release)) {
    for (const f of readdirSync(release)) if (f.endsWith('.node')) cpSync(path.join(release, f), path.join(into, 'build', 'Release', f));
  }
  const note = path.join(dir, 'build', 'not-built.txt');
  if (existsSync(note)) cpSync(note, path.join(into, 'build', 'not-built.txt'));
}

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.error?.message ?? r.stderr?.trim() ?? `exit ${r.status}`}`);
  return r.stdout;
}

function git(...args) {
  const r = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const writeJson = (file, value) => writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);

try {
  main();
} catch (err) {
  process.stderr.write(`bundle: error: ${err.message}\n`);
  process.exit(1);
}
