import { mkdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import * as path from 'node:path';
import yargs from 'yargs';
import type { UdpIoPreference } from '@diodesync/native';
import type { FrameAuthenticator } from '@diodesync/protocol';
import { UsageError, keyFromFile, parseByteSize, parseChannelSpecs, parseEndpoint, parseOrUsage, stdioDashAsValue, type ChannelSpec, type Endpoint } from '@diodesync/cli-kit';
import { parseFreeFloor, type LimitSettings } from '../assembly/limits.js';
import { isInside } from '../placement/paths.js';

export const PROGRAM = 'diode-receive';

/** `diode-receive <dest-dir> --listen URL [options]`, checked. */
export interface ReceiveOptions {
  listen: string;
  endpoint: Endpoint;
  multicastInterface: string | undefined;
  dest: string;
  stateDir: string;
  exitWhenSynced: boolean;
  timeoutSeconds: number;
  rcvbuf: number;
  /** --io: the UDP receive path, at most this (recvmmsg through the addon, or node:dgram). */
  io: UdpIoPreference;
  maxBuffer: number;
  workers: number;
  partialTtlMs: number;
  onAlert: string | undefined;
  applyDeletes: boolean;
  quarantineDays: number;
  /** --metrics HOST:PORT, as given and parsed. */
  metrics: { text: string; host: string; port: number } | undefined;
  keys: FrameAuthenticator[];
  encrypt: boolean;
  limits: LimitSettings;
  portableNames: boolean;
  /** --deliver NAME=udp://|tcp://|file:DIR: where each pass-through channel goes. */
  deliver: ChannelSpec[];
}

export type Command = { command: 'status'; stateDir: string; json: boolean } | { command: 'receive'; options: ReceiveOptions };

/** Parses and checks the command line; a mistake is a UsageError (exit 1, one line). Creates dest and state if missing. */
export async function parseCommandLine(args: string[]): Promise<Command> {
  const argv = await yargs(stdioDashAsValue(args, '--listen'))
    .scriptName(PROGRAM)
    .usage('$0 <dest-dir> --listen URL [options]\n$0 status --state DIR [--json]\n\nReceive a tree from a one-way link into an exact mirror.')
    .command('status', "show a receiver's counters, queues and link state", (y) => y
      .option('state', { type: 'string', demandOption: true, describe: 'the receiver state directory' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' }))
    .command('$0 <dest-dir>', 'receive into dest-dir', (y) => y
      .positional('dest-dir', { type: 'string', describe: 'mirror directory (created if missing)', demandOption: true })
      .option('listen', { type: 'string', demandOption: true, describe: 'where frames arrive: udp://HOST:PORT (unicast or multicast group), tcp-listen://HOST:PORT, tcp://HOST:PORT (appliance high side), or - for stdin' })
      .option('multicast-interface', { type: 'string', describe: 'local address of the interface to join a multicast group on' })
      .option('state', { type: 'string', describe: 'receiver state: partial files, report, status (default: .<dest>.diodesync beside dest-dir)' })
      .option('exit-when-synced', { type: 'boolean', default: false, describe: "exit 0 once every file of the sender's manifest is present and verified" })
      .option('timeout', { type: 'number', default: 0, describe: 'with --exit-when-synced: give up after this many seconds, write the report, exit 2 (0 = never)' })
      .option('io', { type: 'string', default: 'auto', choices: ['auto', 'mmsg', 'dgram'], describe: 'UDP path: mmsg (recvmmsg, many datagrams per call), dgram (node:dgram); auto = the best this host has' })
      .option('rcvbuf', { type: 'string', default: '32m', describe: 'receive buffer: the socket\'s (capped by net.core.rmem_max), and as much again held by the reader thread' })
      .option('max-buffer', { type: 'string', default: '64m', describe: 'memory for chunks not yet written; beyond it chunks are dropped and counted' })
      .option('workers', { type: 'number', default: 256, describe: 'objects assembled at once; headers of further objects wait for the next pass' })
      .option('partial-ttl', { type: 'number', default: 24, describe: 'hours a partial file may wait for its missing chunks before it is removed and reported' })
      .option('on-alert', { type: 'string', describe: 'shell command run on link-down, link-up and sender-restart (DIODESYNC_EVENT says which)' })
      .option('apply-deletes', { type: 'boolean', default: false, describe: "apply the sender's deletes and renames (deleted files go to <state>/quarantine)" })
      .option('quarantine-days', { type: 'number', default: 7, describe: 'days a deleted file is kept in quarantine' })
      .option('metrics', { type: 'string', describe: 'serve Prometheus metrics on HOST:PORT' })
      .option('key-file', { type: 'string', array: true, describe: 'pre-shared key (mode 600): drop every frame whose tag does not verify; give it twice while rotating keys' })
      .option('encrypt', { type: 'boolean', default: false, describe: 'with --key-file: also drop frames that are not encrypted' })
      .option('max-file-size', { type: 'string', default: '64g', describe: 'refuse (and count) files announced larger than this' })
      .option('max-files', { type: 'number', default: 10_000_000, describe: 'refuse new files once the mirror and the files under way hold this many' })
      .option('portable-names', { type: 'boolean', default: false, describe: 'refuse (and report) names Windows cannot hold: for a mirror that is later copied to Windows' })
      .option('deliver', { type: 'string', array: true, describe: 'pass-through channel out: NAME=udp://HOST:PORT (datagrams), NAME=tcp://HOST:PORT (one connection per session) or NAME=file:DIR (appended, rotated by size or hour); repeatable' })
      .option('min-free', { type: 'string', default: '1g', describe: 'refuse files that would leave less free space than this (bytes, or N% of the file system)' }))
    .config('config', 'JSON file whose keys are long option names')
    .strict()
    .help()
    .version(false)
    .fail((msg, err) => {
      throw new UsageError(msg ?? err?.message ?? 'invalid arguments');
    })
    .parseAsync();

  if (argv._[0] === 'status') return { command: 'status', stateDir: String(argv.state), json: Boolean(argv.json) };

  const listen = String(argv.listen);
  const endpoint = parseOrUsage(() => parseEndpoint(listen, ['udp', 'tcp-listen', 'tcp', 'stdio']));
  const rcvbuf = parseOrUsage(() => parseByteSize(String(argv.rcvbuf)));
  const maxBuffer = parseOrUsage(() => parseByteSize(String(argv['max-buffer'])));
  const timeout = Number(argv.timeout);
  const workers = Number(argv.workers);
  const partialTtlHours = Number(argv['partial-ttl']);
  if (!(timeout >= 0)) throw new UsageError('--timeout must be a number of seconds >= 0');
  if (!Number.isInteger(workers) || workers < 1) throw new UsageError('--workers must be a whole number >= 1');
  if (!(partialTtlHours > 0)) throw new UsageError('--partial-ttl must be a number of hours > 0');
  const maxFileSize = parseOrUsage(() => parseByteSize(String(argv['max-file-size'])));
  const maxFiles = Number(argv['max-files']);
  if (!Number.isInteger(maxFiles) || maxFiles < 1) throw new UsageError('--max-files must be a whole number >= 1');
  const minFree = parseOrUsage(() => parseFreeFloor(String(argv['min-free']), parseByteSize));
  const keyFiles = ((argv['key-file'] ?? []) as unknown[]).map(String);
  if (argv.encrypt && keyFiles.length === 0) throw new UsageError('--encrypt needs --key-file');
  const keys = keyFiles.map(readKey);
  const metricsAt = argv.metrics === undefined ? undefined : parseOrUsage(() => parseEndpoint(`tcp://${String(argv.metrics)}`, ['tcp']));
  const dest = ensureDirectory(path.resolve(String(argv['dest-dir'])), 'destination');
  const stateDir = ensureDirectory(path.resolve(argv.state === undefined ? defaultStateDir(dest) : String(argv.state)), 'state directory');
  if (isInside(dest, stateDir)) throw new UsageError('--state must not be inside the destination directory');
  const deliver = parseOrUsage(() => parseChannelSpecs('deliver', ((argv.deliver ?? []) as unknown[]).map(String), ['udp', 'tcp'], true));
  for (const c of deliver) {
    // Files appended under the mirror would be taken for strays of the tree (reported, deleted with it).
    if (c.kind === 'file' && isInside(dest, path.resolve(c.dir))) throw new UsageError(`--deliver ${c.text}: the directory must not be inside the destination directory`);
  }
  const quarantineDays = Number(argv['quarantine-days']);
  if (!(quarantineDays >= 0)) throw new UsageError('--quarantine-days must be a number >= 0');

  return {
    command: 'receive',
    options: {
      listen, endpoint, multicastInterface: argv['multicast-interface'] as string | undefined, dest, stateDir,
      exitWhenSynced: Boolean(argv['exit-when-synced']), timeoutSeconds: timeout, rcvbuf, io: argv.io as UdpIoPreference, maxBuffer, workers,
      partialTtlMs: partialTtlHours * 3_600_000, onAlert: argv['on-alert'] === undefined ? undefined : String(argv['on-alert']),
      applyDeletes: Boolean(argv['apply-deletes']), quarantineDays,
      metrics: metricsAt && { text: String(argv.metrics), host: metricsAt.host, port: metricsAt.port },
      keys, encrypt: Boolean(argv.encrypt), limits: { maxFileSize, maxFiles, minFree }, portableNames: Boolean(argv['portable-names']),
      deliver,
    },
  };
}

/** Default state directory: beside the mirror (same file system, so renames stay atomic), never inside it. */
function defaultStateDir(dest: string): string {
  return path.join(path.dirname(dest), `.${path.basename(dest)}.diodesync`);
}

function ensureDirectory(dir: string, what: string): string {
  try {
    mkdirSync(dir, { recursive: true });
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    return realpathSync(dir);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UsageError(`cannot use ${what} '${dir}': ${e.code === 'EEXIST' || e.message === 'not a directory' ? 'not a directory' : e.code ?? e.message}`);
  }
}

/** Reads a pre-shared key; the permission check and parsing live in the protocol package. */
function readKey(file: string): FrameAuthenticator {
  try {
    return keyFromFile(file, statSync(file).mode, readFileSync(file, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UsageError(e.code ? `cannot read key file '${file}': ${e.code}` : e.message);
  }
}
