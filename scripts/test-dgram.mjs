// npm run test:dgram: the receiver's tests and the UDP end-to-end tests with the UDP path forced to
// the node:dgram fallback (DIODESYNC_IO=dgram, which the CLIs they start inherit), so that the
// fallback runs under the same tests as recvmmsg. Run after `tsc -b` (the npm script does).
import { spawnSync } from 'node:child_process';

const tests = ['packages/receiver/dist', 'test/dist/e2e-udp.test.js', 'test/dist/e2e-udp-ring.test.js'];
const run = spawnSync(process.execPath, ['--test', '--test-timeout=300000', '--test-concurrency=1', ...tests], {
  stdio: 'inherit',
  env: { ...process.env, DIODESYNC_IO: 'dgram' },
});
process.exit(run.status ?? 1);
