// npm runs this on install: compile the addon from source with node-gyp.
// If that fails (no C++ toolchain, say), say so in one line and exit 0: the
// install goes on, and @diodesync/native falls back to pure Node.
import { spawnSync } from 'node:child_process';

// npm sets npm_config_node_gyp to its bundled node-gyp for every script it runs.
const gyp = process.env.npm_config_node_gyp;
const [cmd, args] = gyp ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
const r = spawnSync(cmd, args, { stdio: 'inherit' });
if (r.error || r.status !== 0) {
  const why = r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : `exit code ${r.status}`;
  console.error(`@diodesync/native: addon not built (node-gyp rebuild: ${why}); the pure-Node fallback will be used`);
}
