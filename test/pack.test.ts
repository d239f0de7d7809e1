import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const APPS = ['@diodesync/sender', '@diodesync/receiver', '@diodesync/impair'];

interface Packed {
  name: string;
  files: { path: string }[];
}

interface Manifest {
  license?: string;
  engines?: { node?: string };
  repository?: { directory?: string };
  description?: string;
  main?: string;
  bin?: Record<string, string>;
  scripts?: Record<string, string>;
}

test('npm pack: every workspace ships its built code, bins and LICENSE, and no tests or sources', { timeout: 120_000 }, () => {
  // The prepack script of each package (tsc -b) runs here too: it must work from a workspace.
  const run = spawnSync('npm', ['pack', '--dry-run', '--json', '--workspaces'], { cwd: ROOT, encoding: 'utf8', timeout: 110_000 });
  assert.equal(run.status, 0, run.stderr);
  const packed = JSON.parse(run.stdout) as Packed[];
  const workspaces = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
  assert.equal(packed.length, workspaces.length, 'one tarball per workspace');
  for (const [i, pkg] of packed.entries()) {
    const dir = path.join(ROOT, workspaces[i]!);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as Manifest;
    const files = pkg.files.map((f) => f.path);
    const has = (p: string) => assert.ok(files.includes(p), `${pkg.name} ships ${p}`);
    has('LICENSE');
    has('package.json');
    assert.ok(files.some((f) => /^dist\/[^/]+\.js$/.test(f)), `${pkg.name} ships dist/*.js`);
    const tests = files.filter((f) => /\.test[.-]/.test(f));
    assert.deepEqual(tests, [], `${pkg.name} ships no tests, test helpers or their maps`);
    const sources = files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
    assert.deepEqual(sources, [], `${pkg.name} ships no TypeScript sources`);
    // What the package names as its entry points is in the tarball.
    if (manifest.main) has(path.posix.normalize(manifest.main));
    for (const bin of Object.values(manifest.bin ?? {})) has(path.posix.normalize(bin));
    if (APPS.includes(pkg.name)) assert.ok(manifest.bin && Object.keys(manifest.bin).length > 0, `${pkg.name} has a bin`);
    assert.equal(manifest.license, 'MIT', pkg.name);
    assert.match(manifest.engines?.node ?? '', /^>=20/, `${pkg.name} engines.node`);
    assert.equal(manifest.repository?.directory, workspaces[i], `${pkg.name} repository.directory`);
    assert.ok(manifest.description, `${pkg.name} description`);
    assert.equal(manifest.scripts?.prepack, 'tsc -b', `${pkg.name} builds before it is packed`);
  }
  // The addon is compiled on the installing machine: its sources and build script travel.
  const native = packed.find((p) => p.name === '@diodesync/native')!.files.map((f) => f.path);
  for (const f of ['binding.gyp', 'src/addon.cc', 'src/udp.cc', 'src/udp.h', 'src/times.cc', 'src/times.h', 'scripts/build-addon.mjs']) {
    assert.ok(native.includes(f), `@diodesync/native ships ${f}`);
  }
  assert.ok(!native.some((f) => f.startsWith('build/')), '@diodesync/native ships no build of this machine');
});
