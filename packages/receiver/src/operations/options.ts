import { mkdirSync, realpathSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { UdpIoPreference } from '@diodesync/native';
import type { FrameAuthenticator } from '@diodesync/protocol';
import { UsageError, commandLine, commandWord, durationOption, isMulticast, packageVersion, parseByteSize, parseEndpoint, parseChannelSpecs, parseMetricsAddress, parseNamedLinks, parseOrUsage, pickKeys, readConfigFile, readKeyFile, setLogThreshold, sizeOption, stdioDashAsValue, thresholdFromFlags, wholeNumberOption, type ChannelSpec, type Endpoint, type MetricsAddress, type NamedLink } from '@diodesync/cli-kit';
import { parseFreeFloor, type LimitSettings } from '../assembly/limits.js';
import { isInside } from '../placement/paths.js';
import { defaultStateDir } from './state-location.js';

export const PROGRAM = 'diode-receive';
export const VERSION = packageVersion(import.meta.url);

/** `diode-receive <dest-dir> --listen URL [options]`, checked. */
export interface ReceiveOptions {
  /** Every --listen, as given, joined by spaces (status and logs). */
  listen: string;
  /** The first link's endpoint. */
  endpoint: Endpoint;
  /** Each --listen (it may be given several times: two links at once), named `NAME=URL` or by its URL. */
  links: NamedLink<Endpoint>[];
  multicastInterface: string | undefined;
  dest: string;
  stateDir: string;
  exitWhenSynced: boolean;
  timeoutSeconds: number;
  rcvbuf: number;
  /** --io: the UDP receive path, at most this (recvmmsg through the addon, or node:dgram). */
  io: UdpIoPreference;
  /** --gro: ask for UDP_GRO on the UDP socket (the reader splits each coalesced message by its segment size). */
  gro: boolean;
  maxBuffer: number;
  workers: number;
  partialTtlMs: number;
  onAlert: string | undefined;
  applyDeletes: boolean;
  quarantineDays: number;
  /** --metrics PORT, :PORT or HOST:PORT, as given and parsed (no host: every interface). */
  metrics: MetricsAddress | undefined;
  /** No --state was given and the old default beside dest exists: it stays in use (cli.ts says so). */
  legacyState?: boolean;
  keys: FrameAuthenticator[];
  encrypt: boolean;
  limits: LimitSettings;
  portableNames: boolean;
  /** Options given that change nothing here, and why: logged at start, the run goes on. */
  ignored: { option: string; reason: string }[];
  /** --deliver NAME=udp://|tcp://|file:DIR: where each pass-through channel goes. */
  deliver: ChannelSpec[];
}

export type Command = { command: 'status'; stateDir: string; json: boolean } | { command: 'verify'; dest: string; stateDir: string; json: boolean } | { command: 'receive'; options: ReceiveOptions };

/** Parses and checks the command line; a mistake is a UsageError (exit 1, one line). Creates dest and state if missing. */
export async function parseCommandLine(args: string[]): Promise<Command> {
  const argv = await (await commandLine(PROGRAM, stdioDashAsValue(args, '--listen'), VERSION))
    .usage('$0 <dest-dir> --listen URL [options]\n$0 status --state DIR [--json]\n$0 verify <dest-dir> [--state DIR] [--json]\n\nReceive a tree from a one-way link into an exact mirror.')
    .command('status', "show a receiver's counters, queues and link state", (y) => y
      .option('state', { type: 'string', demandOption: true, describe: 'the receiver state directory' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' }))
    .command('verify <dest-dir>', 'compare the mirror with what the sender announced, as the receiver keeps it in its index: missing, outdated, unexpected files; exit 0 if it matches, 2 if not', (y) => y
      .positional('dest-dir', { type: 'string', describe: 'the mirror directory', demandOption: true })
      .option('state', { type: 'string', describe: "the receiver's state directory (default: as the receiver finds it for dest-dir)" })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' }))
    // dest-dir is optional for yargs so that a --config file can name it ("dest-dir"); checked below.
    .command('$0 [dest-dir]', 'receive into dest-dir', (y) => y
      .positional('dest-dir', { type: 'string', describe: 'mirror directory (created if missing)' })
      .option('listen', { type: 'string', demandOption: true, describe: 'where frames arrive: udp://HOST:PORT (unicast or multicast group), tcp-listen://HOST:PORT, tcp://HOST:PORT (appliance high side), - for stdin, capture://IFACE[:PORT] (a tap: promiscuous packet capture, needs CAP_NET_RAW), pcap:FILE[:PORT] or pcap:- (a pcap/pcapng capture); give it again for more links (NAME=URL names one): a frame is used once, whichever link brings it' })
      .option('multicast-interface', { type: 'string', describe: 'local address of the interface to join a multicast group on' })
      .option('state', { type: 'string', describe: 'receiver state: partial files, report, status, the mirror index (default: $STATE_DIRECTORY/<dest name>-<hash> under systemd, else $XDG_STATE_HOME/diodesync/<dest name>-<hash>; an existing .<dest>.diodesync beside dest-dir is kept). Keep it on the mirror\'s file system: placing a file is then a rename, not a copy' })
      .option('exit-when-synced', { type: 'boolean', default: false, describe: "exit 0 once every file of the sender's manifest is present and verified" })
      .option('timeout', { type: 'string', default: '0', describe: 'with --exit-when-synced: give up after this many seconds (or 90s, 10m, 2h), write the report, exit 2 (0 = never)' })
      .option('io', { type: 'string', default: 'auto', choices: ['auto', 'mmsg', 'dgram'], describe: 'UDP path: mmsg (recvmmsg, many datagrams per call), dgram (node:dgram); auto = the best this host has' })
      .option('gro', { type: 'boolean', default: false, describe: 'UDP GRO: the kernel may hand over several datagrams of one size in one receive (UDP_GRO through the addon\'s recvmmsg, split by the segment size it reports); where it is unavailable the listening line says so (gro) and each datagram is received alone' })
      .option('rcvbuf', { type: 'string', default: '32m', describe: 'receive buffer: the socket\'s (the kernel caps it at net.core.rmem_max, and the start says so: rcvbuf-capped), and as much again held by the reader thread; beyond that the newest datagrams are dropped and counted (queueOverflow)' })
      .option('max-buffer', { type: 'string', default: '64m', describe: 'memory for chunks not yet written; beyond it chunks are dropped and counted' })
      .option('workers', { type: 'number', default: 256, describe: 'objects assembled at once; headers of further objects wait for the next pass' })
      .option('partial-ttl', { type: 'string', default: '24', describe: 'hours a partial file may wait for its missing chunks before it is removed and reported (or 30m, 2d)' })
      .option('on-alert', { type: 'string', describe: 'shell command run on link-down, link-up and sender-restart (DIODESYNC_EVENT says which; DIODESYNC_LINK names the link when there are several)' })
      .option('apply-deletes', { type: 'boolean', default: false, describe: "apply the sender's deletes and renames (deleted files go to <state>/quarantine)" })
      .option('quarantine-days', { type: 'string', default: '7', describe: 'with --apply-deletes: days a deleted file is kept in quarantine (or 12h)' })
      .option('metrics', { type: 'string', describe: 'serve Prometheus metrics on PORT, :PORT (all interfaces) or HOST:PORT' })
      .option('key-file', { type: 'string', array: true, describe: 'pre-shared key (mode 600): drop every frame whose tag does not verify; give it twice while rotating keys' })
      .option('encrypt', { type: 'boolean', default: false, describe: 'with --key-file: also drop frames that are not encrypted' })
      .option('max-file-size', { type: 'string', default: '64g', describe: 'refuse (and count) files announced larger than this' })
      .option('max-files', { type: 'number', default: 10_000_000, describe: 'refuse new files once the mirror and the files under way hold this many' })
      .option('portable-names', { type: 'boolean', default: false, describe: 'refuse (and report) names Windows cannot hold: for a mirror that is later copied to Windows' })
      .option('deliver', { type: 'string', array: true, describe: 'pass-through channel out: NAME=udp://HOST:PORT (datagrams), NAME=tcp://HOST:PORT (one connection per session) or NAME=file:DIR (appended, rotated by size or hour); repeatable' })
      .option('min-free', { type: 'string', default: '1g', describe: 'refuse files that would leave less free space than this on the mirror\'s or the state\'s file system (bytes, or N% of the file system)' }))
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'log warnings and errors only' })
    .option('verbose', { alias: 'v', type: 'boolean', describe: 'log debug lines too' })
    // `status`/`verify --config receive.json` take only the service's "state" from it.
    .config('config', 'JSON file (// comments allowed) whose keys are long option names, dest-dir included',
      (file) => (['status', 'verify'].includes(commandWord(args, ['--config', '--state']) ?? '') ? pickKeys(readConfigFile(file), ['state']) : readConfigFile(file)))
    .parseAsync();

  setLogThreshold(thresholdFromFlags(argv.quiet as boolean | undefined, argv.verbose as boolean | undefined));
  if (argv._[0] === 'status') return { command: 'status', stateDir: String(argv.state), json: Boolean(argv.json) };
  if (argv._[0] === 'verify') return verifyCommand(String(argv['dest-dir']), argv.state as string | undefined, Boolean(argv.json));

  if (argv['dest-dir'] === undefined) throw new UsageError('no destination directory: give it first, or as "dest-dir" in the --config file');
  const listenValues = [argv.listen].flat().map(String);
  const links = parseOrUsage(() => parseNamedLinks(listenValues, (url) => parseEndpoint(url, ['udp', 'tcp-listen', 'tcp', 'stdio', 'capture', 'pcap']), '--listen'));
  const listen = listenValues.join(' ');
  const endpoint = links[0]!.endpoint;
  const rcvbuf = sizeOption('--rcvbuf', argv.rcvbuf, '32m');
  const maxBuffer = sizeOption('--max-buffer', argv['max-buffer'], '64m');
  const timeout = durationOption('--timeout', argv.timeout, 's', '600');
  const workers = wholeNumberOption('--workers', argv.workers, 1, undefined, '256');
  const partialTtlHours = durationOption('--partial-ttl', argv['partial-ttl'], 'h', '24', true);
  const maxFileSize = sizeOption('--max-file-size', argv['max-file-size'], '64g');
  const maxFiles = wholeNumberOption('--max-files', argv['max-files'], 1, undefined, '10000000');
  const minFree = parseMinFree(String(argv['min-free']));
  const keyFiles = ((argv['key-file'] ?? []) as unknown[]).map(String);
  if (argv.encrypt && keyFiles.length === 0) throw new UsageError('--encrypt needs --key-file');
  const keys = keyFiles.map(readKeyFile);
  const metrics = argv.metrics === undefined ? undefined : parseOrUsage(() => parseMetricsAddress(String(argv.metrics)));
  const dest = ensureDirectory(path.resolve(String(argv['dest-dir'])), 'destination');
  const defaultState = argv.state === undefined ? defaultStateDir(dest) : undefined;
  const stateDir = ensureDirectory(path.resolve(defaultState?.dir ?? String(argv.state)), 'state directory');
  if (isInside(dest, stateDir)) throw new UsageError('--state must not be inside the destination directory');
  const deliver = parseOrUsage(() => parseChannelSpecs('deliver', ((argv.deliver ?? []) as unknown[]).map(String), ['udp', 'tcp'], true));
  for (const c of deliver) {
    // Files appended under the mirror would be taken for strays of the tree (reported, deleted with it).
    if (c.kind === 'file' && isInside(dest, path.resolve(c.dir))) throw new UsageError(`--deliver ${c.text}: the directory must not be inside the destination directory`);
  }
  const quarantineDays = durationOption('--quarantine-days', argv['quarantine-days'], 'd', '7');

  return {
    command: 'receive',
    options: {
      listen, endpoint, links, multicastInterface: argv['multicast-interface'] as string | undefined, dest, stateDir,
      exitWhenSynced: Boolean(argv['exit-when-synced']), timeoutSeconds: timeout, rcvbuf, io: argv.io as UdpIoPreference, gro: Boolean(argv.gro), maxBuffer, workers,
      partialTtlMs: partialTtlHours * 3_600_000, onAlert: argv['on-alert'] === undefined ? undefined : String(argv['on-alert']),
      applyDeletes: Boolean(argv['apply-deletes']), quarantineDays,
      metrics, legacyState: defaultState?.legacy ?? false,
      keys, encrypt: Boolean(argv.encrypt), limits: { maxFileSize, maxFiles, minFree }, portableNames: Boolean(argv['portable-names']),
      ignored: ignoredReceiveOptions(argv, endpoint),
      deliver,
    },
  };
}

/** `verify`: dest must exist (nothing is created), its state as the receiver finds it unless --state says. */
function verifyCommand(destArg: string, state: string | undefined, json: boolean): Command {
  let dest: string;
  try {
    dest = realpathSync(destArg);
  } catch (err) {
    throw new UsageError(`cannot verify '${destArg}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!statSync(dest).isDirectory()) throw new UsageError(`cannot verify '${destArg}': not a directory`);
  return { command: 'verify', dest, stateDir: path.resolve(state ?? defaultStateDir(dest).dir), json };
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

/** --min-free: bytes or a percentage of the file system. */
function parseMinFree(text: string) {
  try {
    return parseFreeFloor(text, parseByteSize);
  } catch (err) {
    throw new UsageError(`--min-free: ${(err as Error).message}; e.g. --min-free 1g or --min-free 5%`);
  }
}

/** Options given that have no effect without another, or with the --listen given (a config file may give numbers). */
function ignoredReceiveOptions(argv: Record<string, unknown>, listen: Endpoint): { option: string; reason: string }[] {
  const udp = listen.scheme === 'udp';
  const rules: [boolean, string, string][] = [
    [String(argv.timeout) !== '0' && !argv['exit-when-synced'], '--timeout', 'it bounds --exit-when-synced, which is not given'],
    [String(argv['quarantine-days']) !== '7' && !argv['apply-deletes'], '--quarantine-days', 'deletes are applied (and quarantined) only with --apply-deletes'],
    [argv['multicast-interface'] !== undefined && !(udp && isMulticast(listen.host)), '--multicast-interface', '--listen is not a multicast group'],
    [argv.io !== 'auto' && !udp, '--io', '--listen is not udp://'],
    [String(argv.rcvbuf) !== '32m' && !udp, '--rcvbuf', '--listen is not udp://'],
    [Boolean(argv.gro) && !udp, '--gro', '--listen is not udp://'],
  ];
  return rules.filter(([given]) => given).map(([, option, reason]) => ({ option, reason }));
}
