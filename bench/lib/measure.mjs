// Runs a CLI module in this process and, when it exits, appends its own CPU time and peak RSS
// to the file named by DIODESYNC_MEASURE: Node cannot read a child's rusage, a child can.
import { appendFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [cli, ...args] = process.argv.slice(2);
const out = process.env.DIODESYNC_MEASURE;
process.argv = [process.argv[0], cli, ...args];
process.on('exit', () => {
  const r = process.resourceUsage();
  if (out) appendFileSync(out, JSON.stringify({ cli, cpuSeconds: (r.userCPUTime + r.systemCPUTime) / 1e6, maxRssMB: r.maxRSS / 1024 }) + '\n');
});
await import(pathToFileURL(cli).href);
