import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { UsageError } from './cli-args.js';
import { commandLine } from './program.js';

test('commandLine: unknown options and invalid choices are UsageErrors on one line', async () => {
  const parse = async (args: string[]) =>
    (await commandLine('prog', args)).option('mode', { type: 'string', choices: ['fast', 'slow'] }).parseAsync();
  assert.equal((await parse(['--mode', 'fast'])).mode, 'fast');
  for (const args of [['--nope'], ['--mode', 'sideways']]) {
    await assert.rejects(parse(args), (err: Error) => err instanceof UsageError && !err.message.includes('\n'), args.join(' '));
  }
});

test('importing the kit loads neither yargs nor the FEC addon; yargs comes with commandLine', () => {
  const index = JSON.stringify(new URL('./index.js', import.meta.url).href);
  // A resolve hook that refuses yargs: the import must not need it, and commandLine must.
  const hook = `export async function resolve(specifier, context, next) {
    if (specifier === 'yargs') throw new Error('yargs refused');
    return next(specifier, context);
  }`;
  const script = `
    import { createRequire, register } from 'node:module';
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));
    const kit = await import(${index});
    const fec = Object.keys(createRequire(process.cwd() + '/').cache).some((k) => k.includes('reed-solomon'));
    const yargs = await kit.commandLine('prog', []).then(() => 'loaded', (err) => err.message);
    console.log(JSON.stringify({ fec, yargs }));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), { fec: false, yargs: 'yargs refused' });
});

/** Runs `body` (the text of an async function, with the kit as `kit`) through runMain in a child process. */
function runMainWith(body: string, explain = 'undefined') {
  const index = JSON.stringify(new URL('./index.js', import.meta.url).href);
  const script = `const kit = await import(${index}); kit.runMain('prog', async () => { ${body} }, ${explain});`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, DIODESYNC_DEBUG: '' } });
}

test('runMain: a UsageError or an explained error exits with its code and one line; anything else exits 1', () => {
  const usage = runMainWith("throw new kit.UsageError('--rate must be above zero');");
  assert.deepEqual([usage.status, usage.stderr], [1, 'prog: error: --rate must be above zero\n']);
  const explained = runMainWith("throw new RangeError('link down');", "(err) => err instanceof RangeError ? { message: 'transport: ' + err.message, code: 2 } : undefined");
  assert.deepEqual([explained.status, explained.stderr], [2, 'prog: error: transport: link down\n']);
  const other = runMainWith("throw new Error('disk on fire');");
  assert.deepEqual([other.status, other.stderr], [1, 'prog: error: disk on fire\n']);
  const fine = runMainWith('');
  assert.deepEqual([fine.status, fine.stderr], [0, '']);
});
