// npm runs this on install: compile the addon from source with node-gyp.
// If that fails (no C++ toolchain, say), say so in one line and exit 0: the
// install goes on, and @diodesync/native falls back to pure Node. npm shows an
// install script's output only when it fails, so the line also goes to
// build/not-built.txt, which the loader puts in nativeIo.reason.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';

// npm sets npm_config_node_gyp to its bundled node-gyp for every script it runs.
const gyp = process.env.npm_config_node_gyp;
const [cmd, args] = gyp ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
const r = spawnSync(cmd, args, { stdio: 'inherit' });
if (r.error || r.status !== 0) {
  const why = r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : `exit code ${r.status}`;
  const line = `npm install could not compile it (node-gyp rebuild: ${why})`;
  console.error(`@diodesync/native: addon not built: ${line}; the pure-Node fallback will be used`);
  mkdirSync('build', { recursive: true });
  writeFileSync('build/not-built.txt', `${line}\n`);
}

// gyp writes the makefiles of node-addon-api's own targets beside build/, mirroring where that
// package lies (../../node_modules/node-addon-api from here): packages/node_modules/node-addon-api,
// which npm then takes for a broken install of the package (`npm ls` fails). They are only needed
// while compiling: remove them, and the folder if nothing else is in it.
const stray = '../node_modules/node-addon-api';
try {
  if (readdirSync(stray).every((f) => /\.(mk|Makefile)$/.test(f))) rmSync(stray, { recursive: true });
  rmdirSync('../node_modules'); // only when empty
} catch {
  // nothing there, or not only makefiles: leave it
}
