#!/usr/bin/env node
// npm links a workspace's bin at `npm install`, before anything is built, and skips a target that
// does not exist yet: so the bin is this file, kept in the repository, and the program is in dist/.
import { existsSync } from 'node:fs';

const program = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(program)) {
  process.stderr.write('diode-send: error: not built yet: run npm run build (tsc -b) at the top of the repository\n');
  process.exit(1);
}
await import(program.href);
