#!/usr/bin/env node
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import yargs, { type ArgumentsCamelCase, type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { HEADER_SIZE, IP_UDP_OVERHEAD, MAX_DATAGRAM, MAX_PAYLOAD, TAG_SIZE, fecEnabled, formatFec, parseFec } from '@diodesync/protocol';
import { UsageError, formatBitRate, parseChannelSpecs, formatBytes, keyFromFile, parseBitRate, parseEndpoint, parseOrUsage, stdioDashAsValue } from '@diodesync/cli-kit';
import { UDP_IO_PREFERENCES, type UdpIoPreference } from '@diodesync/native';
import { FrameEmitter } from './framing/frame-emitter.js';
import { LedgerError, damagedLedger, isSqliteError } from './ledger/errors.js';
import { STATUSES } from './ledger/status.js';
import { Ledger } from './ledger/store.js';
import { LEDGER_ACTIONS, runLedgerCommand, type LedgerAction } from './ledger/ledger-cli.js';
import { CriteriaError } from './ledger/reset-criteria.js';
import { defaultStateDir, ledgerPath } from './ledger/location.js';
import { log, showStatus } from './log.js';
import { TokenBucket } from './transport/rate-limiter.js';
import { Sender, type SenderStats } from './sender.js';
import { openSink } from './transport/sinks.js';
import { TransportError } from './transport/frame-sink.js';
import { treeFilter } from './inventory/tree-filter.js';
import { StreamForwarder } from './streams/stream-forwarder.js';

const PROGRAM = 'diode-send';

function fail(message: string, code = 1): never {
  process.stderr.write(`${PROGRAM}: error: ${message}\n`);
  process.exit(code);
}

const sendOptions = <T>(y: Argv<T>) => y
  .positional('source-dir', { type: 'string', describe: 'directory to mirror', demandOption: true })
  .option('to', { type: 'string', demandOption: true, describe: 'destination: udp://HOST:PORT (unicast, multicast or broadcast), tcp://HOST:PORT (diode appliance), or - for stdout' })
  .option('ttl', { type: 'number', default: 1, describe: 'multicast TTL (hops)' })
  .option('io', { type: 'string', default: 'auto', choices: UDP_IO_PREFERENCES as string[], describe: 'UDP path: gso (sendmmsg + UDP GSO), mmsg (sendmmsg), dgram (node:dgram, one call per datagram); auto = the best this host has' })
  .option('multicast-interface', { type: 'string', describe: 'local address of the interface multicast leaves by' })
  .option('broadcast', { type: 'boolean', default: false, describe: 'allow sending to a broadcast address' })
  .option('once', { type: 'boolean', default: false, describe: 'send the tree (all R passes) and exit' })
  .option('resume', { alias: 'c', type: 'boolean', default: false, describe: 'skip file versions the ledger records as sent R times; finish the others' })
  .option('rate', { type: 'string', default: '100m', describe: 'bits per second on the wire (k, m, g suffixes)' })
  .option('l', { type: 'number', describe: 'rate in kbit/s (BlindFTP/AROWBftp style); overrides --rate' })
  .option('redundancy', { alias: 'R', type: 'number', default: 2, describe: 'times every file version is sent' })
  .option('fec', { type: 'string', default: '20+4', describe: 'K+M: M parity frames per K data frames (0 = none)' })
  .option('interleave', { type: 'number', default: 16, describe: 'FEC blocks interleaved on the wire: survives bursts of this many lost frames' })
  .option('mtu', { type: 'number', default: 1500, describe: 'link MTU in bytes (9000 jumbo, up to 65535 on loopback)' })
  .option('pass-interval', { type: 'number', default: 0, describe: 'seconds between two sends of the same version' })
  .option('heartbeat', { type: 'number', default: 5, describe: 'seconds between heartbeats' })
  .option('rescan', { type: 'number', default: 10, describe: 'watch mode: seconds between rescans of the tree (and of the ledger)' })
  .option('settle', { type: 'number', default: 2000, describe: 'ms a file must keep its size and mtime before it is sent' })
  .option('poll', { type: 'number', describe: 'watch mode: poll every MS instead of file-system events (SMB/NFS shares)' })
  .option('include', { type: 'string', array: true, describe: 'glob of paths to mirror (repeatable; default: all)' })
  .option('exclude', { type: 'string', array: true, describe: 'glob of paths not to mirror (repeatable)' })
  .option('delete', { type: 'boolean', default: false, describe: 'announce deletions (R times) and renames to the receiver' })
  .option('key-file', { type: 'string', describe: 'pre-shared key (hex or base64, mode 600): every frame carries an HMAC tag' })
  .option('encrypt', { type: 'boolean', default: false, describe: 'with --key-file: encrypt every payload (AES-256-GCM)' })
  .option('manifest-interval', { type: 'number', default: 300, describe: 'watch mode: seconds between manifests when nothing changes' })
  .option('forward', { type: 'string', array: true, describe: 'pass-through channel NAME=udp://HOST:PORT (datagrams) or NAME=tcp-listen://HOST:PORT (each connection a session); repeatable, up to 64' })
  .option('forward-rate', { type: 'string', describe: 'the most of --rate the channels may take, bits per second (default: half of --rate)' })
  .option('forward-flush', { type: 'number', default: 20, describe: 'ms after which a channel\'s FEC block is closed and its parity sent' });

const ledgerOptions = <T>(y: Argv<T>) => y
  .positional('action', { type: 'string', choices: LEDGER_ACTIONS, demandOption: true })
  .option('status', { type: 'string', describe: `list: only versions with this status (${STATUSES.join(', ')})` })
  .option('json', { type: 'boolean', describe: 'list, stats: JSON on stdout' })
  .option('since', { type: 'string', describe: 'reset: versions sent at or after this date-time (ISO 8601, local time unless a zone is given)' })
  .option('until', { type: 'string', describe: 'reset: versions sent at or before this date-time' })
  .option('path', { type: 'string', describe: "reset: versions whose path matches this glob ('**' crosses directories)" })
  .option('regex', { type: 'string', describe: 'reset: versions whose path matches this regular expression' })
  .option('from-report', { type: 'string', describe: "reset: the files missing or outdated in a receiver's report.json" })
  .option('all', { type: 'boolean', describe: 'reset: every version' })
  .option('dry-run', { type: 'boolean', describe: 'reset: print what would be reset, change nothing' });

/** What a command's handler receives, with the global --state and --ledger. */
type ArgsOf<F> = F extends (y: Argv<object>) => Argv<infer T> ? ArgumentsCamelCase<T> & { state?: string; ledger?: string } : never;

async function main(): Promise<void> {
  let parsed: { kind: 'send'; argv: ArgsOf<typeof sendOptions> } | { kind: 'ledger'; argv: ArgsOf<typeof ledgerOptions> } | undefined;
  await yargs(stdioDashAsValue(hideBin(process.argv), '--to'))
    .scriptName(PROGRAM)
    .usage('$0 <source-dir> --to URL [options]\n$0 ledger list|stats|reset [options]\n\nSend a directory tree across a one-way link.')
    .option('state', { type: 'string', describe: `sender state directory (default: ${defaultStateDir()})` })
    .option('ledger', { type: 'string', describe: 'SQLite ledger file (default: <state>/ledger.sqlite)' })
    .command('$0 <source-dir>', 'send the tree, then keep watching it (or exit after --once)', sendOptions, (argv) => void (parsed = { kind: 'send', argv }))
    .command('ledger <action>', 'read or correct the ledger (list, stats, reset); works while a sender runs', ledgerOptions, (argv) => void (parsed = { kind: 'ledger', argv }))
    .config('config', 'JSON file whose keys are long option names')
    .strict()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .help()
    .version(false)
    .fail((msg, err) => {
      // yargs spreads some messages (invalid choices) over several lines: one line for the operator.
      throw new UsageError((msg ?? err?.message ?? 'invalid arguments').replace(/\s*\n\s*/g, ' '));
    })
    .parseAsync();
  if (!parsed) return; // --help
  const ledgerFile = ledgerPath(parsed.argv);
  ledgerFileForErrors = ledgerFile;
  if (parsed.kind === 'ledger') {
    const a = parsed.argv;
    runLedgerCommand({
      action: a.action as LedgerAction, ledger: ledgerFile, status: a.status, json: a.json, since: a.since, until: a.until,
      path: a.path, regex: a.regex, fromReport: a.fromReport, all: a.all, dryRun: a.dryRun,
    });
    return;
  }
  const argv = parsed.argv;
  const source = String(argv['source-dir']);
  let isDir = false;
  try {
    isDir = statSync(source).isDirectory();
  } catch {
    throw new UsageError(`source directory '${source}' does not exist`);
  }
  if (!isDir) throw new UsageError(`'${source}' is not a directory`);

  const endpoint = parseOrUsage(() => parseEndpoint(argv.to, ['udp', 'tcp', 'stdio']));
  const rate = argv.l !== undefined ? parseOrUsage(() => parseBitRate(`${argv.l}k`)) : parseOrUsage(() => parseBitRate(argv.rate));
  const redundancy = argv.redundancy;
  if (!Number.isInteger(redundancy) || redundancy < 1) throw new UsageError('--redundancy must be a whole number >= 1');
  const mtu = argv.mtu;
  if (!Number.isInteger(mtu) || mtu < 576 || mtu - IP_UDP_OVERHEAD > MAX_DATAGRAM) {
    throw new UsageError(`--mtu must be between 576 and ${MAX_DATAGRAM + IP_UDP_OVERHEAD}`);
  }
  const fec = parseOrUsage(() => parseFec(argv.fec));
  const interleave = argv.interleave;
  if (!Number.isInteger(interleave) || interleave < 1 || interleave > 256) throw new UsageError('--interleave must be a whole number from 1 to 256');
  if (argv.encrypt && argv['key-file'] === undefined) throw new UsageError('--encrypt needs --key-file');
  const keyFile = argv['key-file'];
  const sealing = keyFile === undefined ? undefined : { auth: readKey(keyFile), encrypt: argv.encrypt };
  // The tag, if any, must fit the MTU too; with FEC a full chunk is a whole number of the codec's
  // 8-byte words, so parity frames fit as well.
  const maxChunk = Math.min(MAX_PAYLOAD, mtu - IP_UDP_OVERHEAD - HEADER_SIZE - (sealing ? TAG_SIZE : 0));
  const chunkSize = fecEnabled(fec) ? maxChunk - (maxChunk % 8) : maxChunk;
  if (!(argv.settle >= 0)) throw new UsageError('--settle must be a number of milliseconds >= 0');
  if (argv.poll !== undefined && !(argv.poll >= 10)) throw new UsageError('--poll must be at least 10 ms');
  for (const name of ['pass-interval', 'heartbeat', 'rescan', 'manifest-interval'] as const) {
    if (!(argv[name] >= 0) || (name !== 'pass-interval' && argv[name] === 0)) throw new UsageError(`--${name} must be a positive number of seconds`);
  }

  const channels = parseOrUsage(() => parseChannelSpecs('forward', argv.forward ?? [], ['udp', 'tcp-listen'], false));
  const forwardRate = argv['forward-rate'] === undefined ? rate / 2 : parseOrUsage(() => parseBitRate(argv['forward-rate']!));
  if (forwardRate > rate) throw new UsageError('--forward-rate cannot exceed --rate: the channels share the link with the files');
  const flushMs = argv['forward-flush'];
  if (!(flushMs >= 1 && flushMs <= 10_000)) throw new UsageError('--forward-flush must be between 1 and 10000 ms');

  // Open the ledger before the socket: an unusable ledger stops us before anything is sent.
  const ledger = Ledger.open(ledgerFile, { create: true });
  const settings = { source: realpathSync(source), to: argv.to, rate, redundancy, mtu, once: argv.once };
  let session: { id: number; startedAt: number };
  try {
    ledger.claimSource(settings.source);
    session = ledger.beginSession(settings, argv.resume);
  } catch (err) {
    ledger.close();
    throw err;
  }
  if (!Number.isInteger(argv.ttl) || argv.ttl < 0 || argv.ttl > 255) throw new UsageError('--ttl must be 0-255');
  // --once is a job with an end: a link that stays down for about a minute fails it (exit 2).
  const tcpAttempts = argv.once ? 8 : Infinity;
  const sink = await openSink(endpoint, { ttl: argv.ttl, multicastInterface: argv['multicast-interface'], broadcast: argv.broadcast, io: argv.io as UdpIoPreference }, tcpAttempts).catch((err: NodeJS.ErrnoException) => {
    ledger.close();
    throw new UsageError(`cannot open ${argv.to}: ${err.code ?? err.message}`);
  });
  const sessionId = randomInt(1, 0xffff_ffff);
  const emitter = new FrameEmitter(sessionId, sink, new TokenBucket(rate), sealing);
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log('stopping', { signal });
      stop.abort();
    });
  }
  const sender = new Sender(
    {
      source, redundancy, chunkSize, fec, interleave, passIntervalMs: argv['pass-interval'] * 1000, heartbeatMs: argv.heartbeat * 1000,
      rescanMs: argv.rescan * 1000, manifestIntervalMs: argv['manifest-interval'] * 1000,
      settleMs: argv.settle, filter: treeFilter(argv.include ?? [], argv.exclude ?? []), announceChanges: argv.delete,
      pollMs: argv.poll, startedAt: session.startedAt,
    },
    emitter,
    ledger,
    stop.signal,
  );
  let streamFailure: Error | undefined;
  const forwarder = channels.length === 0 ? undefined : new StreamForwarder({ channels, forwardRate, flushMs, fec, maxPayload: maxChunk }, emitter, (err) => {
    streamFailure ??= err;
    stop.abort();
  });
  if (forwarder) {
    const ports = await forwarder.start().catch(async (err: NodeJS.ErrnoException) => {
      ledger.close();
      await sink.close();
      throw new UsageError(`cannot open a --forward channel: ${err.code ?? err.message}${err.code && 'address' in err ? ` on ${String(err.address)}:${String((err as { port?: number }).port)}` : ''}`);
    });
    for (const c of channels) log('forwarding', { channel: c.name, on: c.text, port: ports[c.name], forwardRate: formatBitRate(forwardRate), flushMs });
  }
  log('start', {
    to: sink.description, io: sink.io?.mode ?? 'stream', ioReason: sink.io?.reason,
    session: sessionId.toString(16), rate: formatBitRate(rate), redundancy, fec: formatFec(fec), interleave, chunkSize,
    mode: argv.once ? 'once' : 'watch', auth: sealing ? (sealing.encrypt ? 'hmac+aes-256-gcm' : 'hmac') : 'none', ledger: ledgerFile, resume: argv.resume,
  });
  const started = performance.now();
  let unsent = 0;
  const progress = setInterval(() => showStatus(progressLine(sender.stats, emitter.bytesSent, (performance.now() - started) / 1000)), 500);
  progress.unref();
  try {
    if (argv.once) unsent = await sender.runOnce();
    else await sender.watch();
    ledger.endSession(session.id);
  } finally {
    clearInterval(progress);
    showStatus(undefined);
    ledger.close();
    await forwarder?.close();
    await sink.close();
  }
  if (streamFailure) throw streamFailure;
  const seconds = (performance.now() - started) / 1000;
  const { stats } = sender;
  log('done', {
    files: stats.filesSent, fileBytes: stats.fileBytesSent, frames: emitter.framesSent, wireBytes: emitter.bytesSent,
    seconds: Number(seconds.toFixed(3)), wireRate: formatBitRate((emitter.bytesSent * 8) / seconds),
    changedDuringSend: stats.changedDuringSend, failed: unsent, skipped: stats.skipped, unreadable: stats.unreadable,
  });
  for (const [channel, counts] of Object.entries(forwarder?.counts() ?? {})) log('channel-done', { channel, ...counts });
  if (stop.signal.aborted) return;
  if (unsent > 0) fail(`${unsent} file(s) could not be read and were not sent`, 2);
  if (stats.unreadable > 0) fail(`${stats.unreadable} entr${stats.unreadable === 1 ? 'y' : 'ies'} of the tree could not be read (see entry-unreadable): the tree was not sent whole`, 2);
}

/** The live line on a terminal: what is queued and sent, the rate and the time left. */
function progressLine(stats: SenderStats, wireBytes: number, seconds: number): string {
  const rate = seconds > 0 ? (wireBytes * 8) / seconds : 0;
  const eta = rate > 0 && stats.queuedBytes > 0 ? Math.ceil((stats.queuedBytes * 8) / rate) : 0;
  return `sent ${stats.filesSent} files (${formatBytes(stats.fileBytesSent)}), queued ${stats.queuedFiles} (${formatBytes(stats.queuedBytes)}), ${formatBitRate(rate)}${eta ? `, ETA ${Math.floor(eta / 60)}:${String(eta % 60).padStart(2, '0')}` : ''}`;
}

/** Reads the pre-shared key; the permission check and parsing live in the protocol package. */
function readKey(file: string) {
  try {
    return keyFromFile(file, statSync(file).mode, readFileSync(file, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UsageError(e.code ? `cannot read key file '${file}': ${e.code}` : e.message);
  }
}

let ledgerFileForErrors = '';

main().catch((err: unknown) => {
  if (err instanceof UsageError || err instanceof CriteriaError || err instanceof LedgerError) fail(err.message);
  if (err instanceof TransportError) fail(err.message, 2);
  // The ledger broke while we ran (disk full, corrupted underneath us): say so, and how to rebuild it.
  if (isSqliteError(err)) fail(damagedLedger(ledgerFileForErrors || 'file', err.message).message);
  const e = err as NodeJS.ErrnoException;
  if (process.env.DIODESYNC_DEBUG) process.stderr.write(`${e.stack}\n`);
  fail(e.code ? `${e.message}` : String(e.message ?? e));
});
