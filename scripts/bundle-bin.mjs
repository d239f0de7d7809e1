// The start files of the offline bundle (diodesync/bin/PROGRAM). Its addons (better-sqlite3, ours)
// are compiled for the Node ABI of the machine that made the bundle: on another Node the file says
// so in one line instead of failing deep inside a module load.

/** The text of bin/PROGRAM, which starts `target` (a path inside the bundle). */
export function binScript(program, target) {
  const abi = process.versions.modules;
  const node = process.versions.node;
  return `#!/usr/bin/env node
// ${program} from the diodesync offline bundle (made by npm run bundle; see README).
'use strict';
if (process.versions.modules !== ${JSON.stringify(abi)}) {
  process.stderr.write(\`${program}: error: this bundle was built for Node ${node.split('.')[0]} (ABI ${abi}), this is Node \${process.versions.node} (ABI \${process.versions.modules}): run it with Node ${node.split('.')[0]}, or make a bundle with this Node\\n\`);
  process.exit(1);
}
const path = require('node:path');
const { pathToFileURL } = require('node:url');
import(pathToFileURL(path.join(__dirname, '..', ${JSON.stringify(target)})).href).catch((err) => {
  // Only a module that fails to load gets here (the program reports its own errors).
  process.stderr.write(\`${program}: error: cannot start: \${String(err && err.message).split('\\n')[0]}\\n\`);
  process.exit(1);
});
`;
}
