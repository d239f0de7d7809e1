#!/usr/bin/env node
import { realpathSync, statSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import type { ArgumentsCamelCase, Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { HEADER_SIZE, IP_UDP_OVERHEAD, MAX_DATAGRAM, MAX_PAYLOAD, TAG_SIZE, crcPath, fecEnabled, formatFec, parseFec, type FecLayout } from '@diodesync/protocol';
import { UsageError, commandLine, durationOption, fail, formatBitRate, formatBytes, kbitRateOption, packageVersion, parseEndpoint, parseMetricsAddress, parseChannelSpecs, parseNamedLinks, parseOrUsage, type ChannelSpec, type Endpoint, type NamedLink, rateOption, readConfigFile, readKeyFile, runMain, serveMetrics, setLogThreshold, stdioDashAsValue, thresholdFromFlags, wholeNumberOption } from '@diodesync/cli-kit';
import { UDP_IO_PREFERENCES, parityPath, type UdpIoPreference } from '@diodesync/native';
import { FrameEmitter } from './framing/frame-emitter.js';
import { LedgerError, damagedLedger, isSqliteError } from './ledger/errors.js';
import { STATUSES } from './ledger/status.js';
import { Ledger } from './ledger/store.js';
import { LEDGER_ACTIONS, runInteractiveReset, runLedgerCommand, type LedgerAction } from './ledger/ledger-cli.js';
import { CriteriaError } from './ledger/reset-criteria.js';
import { defaultStateDir, ledgerFor, ledgerForCommand } from './ledger/location.js';
import { isLedgerCommand, ledgerConfig } from './ledger/ledger-config.js';
import { runDryRun } from './dry-run.js';
import { formatSenderMetrics, readLedgerCounts } from './metrics.js';
import { log, showStatus } from './log.js';
import { TokenBucket } from './transport/rate-limiter.js';
import { Sender, type SenderStats } from './sender.js';
import { openLinks } from './transport/open-links.js';
import { TransportError } from './transport/frame-sink.js';
import { checkedGlob, treeFilter } from './inventory/tree-filter.js';
import { ignoredChannelOptions, ignoredForwardOnlyOptions, ignoredSendOptions } from './ignored-options.js';
import { StreamForwarder } from './streams/stream-forwarder.js';
import { runForwardOnly } from './streams/forward-only.js';
import type { CopyPolicy } from './streams/channel-encoder.js';
import type { FrameSealing } from './framing/frame-emitter.js';

/** --forward-copies: copies of a quiet channel's record go this far apart, and a channel is quiet under this many records a second. */
const COPY_SPACING_MS = 10;
const QUIET_PER_SECOND = 100;

const PROGRAM = 'diode-send';
const VERSION = packageVersion(import.meta.url);

const sendOptions = <T>(y: Argv<T>) => y
  // Optional for yargs so that a --config file can name it ("source-dir"); main() demands it.
  .positional('source-dir', { type: 'string', describe: 'directory to mirror' })
  .option('to', { type: 'string', describe: 'destination: udp://HOST:PORT (unicast, multicast or broadcast), tcp://HOST:PORT (diode appliance), - for stdout, or pcap:FILE[:PORT] (write the wire as a pcapng file); the port defaults to 36016; give it again for more links (NAME=URL names one): every frame goes on each, or see --stripe' })
  .option('stripe', { type: 'boolean', default: false, describe: 'with several --to: spread the frames across them (each gets 1/N; heartbeats go on all) instead of a copy on each' })
  .option('ttl', { type: 'number', default: 1, describe: 'multicast TTL (hops)' })
  .option('io', { type: 'string', default: 'auto', choices: UDP_IO_PREFERENCES as string[], describe: 'UDP path: gso (sendmmsg + UDP GSO), mmsg (sendmmsg), dgram (node:dgram, one call per datagram); auto = the best this host has; the start line says which runs (io, ioReason)' })
  .option('multicast-interface', { type: 'string', describe: 'local address of the interface multicast leaves by' })
  .option('broadcast', { type: 'boolean', default: false, describe: 'allow sending to a broadcast address' })
  .option('once', { type: 'boolean', default: false, describe: 'send the tree (all R passes) and exit' })
  .option('resume', { alias: 'c', type: 'boolean', default: false, describe: 'skip file versions the ledger records as sent R times; finish the others' })
  .option('rate', { type: 'string', default: '100m', describe: 'bits per second on the wire, headers included (k, m, g suffixes; 100Mb and 100mbps too; bytes such as 10MB are refused); with several --to: per link for copies, in total for --stripe' })
  .option('l', { type: 'string', describe: 'rate in kbit/s (BlindFTP/AROWBftp style); overrides --rate' })
  .option('redundancy', { alias: 'R', type: 'number', default: 2, describe: 'times every file version is sent' })
  .option('fec', { type: 'string', default: '20+4', describe: 'K+M: M parity frames (Reed-Solomon) per K data frames, K <= 24, M <= 6 (0 = none)' })
  .option('interleave', { type: 'number', default: 16, describe: 'FEC blocks interleaved on the wire: survives bursts of this many lost frames' })
  .option('mtu', { type: 'number', default: 1500, describe: 'link MTU in bytes (9000 jumbo, up to 65535 on loopback)' })
  .option('pass-interval', { type: 'string', default: '0', describe: 'minimum seconds between two sends of the same version (or 90s, 5m, 1h)' })
  .option('heartbeat', { type: 'string', default: '5', describe: 'seconds between heartbeats' })
  .option('rescan', { type: 'string', default: '1h', describe: 'watch mode: seconds between full walks of the tree (or 30s, 1h), each spread over most of the interval; file-system events send changes at once in between' })
  .option('settle', { type: 'string', default: '2000', describe: 'milliseconds a file must keep its size and mtime before it is sent (or 2s)' })
  .option('poll', { type: 'string', describe: 'watch mode: no file-system events (SMB/NFS shares): walk the tree this many milliseconds after the last walk ended, at a bounded rate (at least 10)' })
  .option('include', { type: 'string', array: true, describe: 'glob of paths to mirror (repeatable; default: all)' })
  .option('exclude', { type: 'string', array: true, describe: 'glob of paths not to mirror (repeatable)' })
  .option('delete', { type: 'boolean', default: false, describe: 'announce deletions (R times) and renames to the receiver' })
  .option('key-file', { type: 'string', describe: 'pre-shared key (hex or base64, mode 600): every frame carries an HMAC tag' })
  .option('encrypt', { type: 'boolean', default: false, describe: 'with --key-file: encrypt every payload (AES-256-GCM)' })
  .option('manifest-interval', { type: 'string', default: '300', describe: 'watch mode: seconds a full manifest cycle spans (its pieces spread over it; longer where building it would take over 1% of a core, logged), so a restarted receiver learns the tree again (or 5m)' })
  .option('metrics', { type: 'string', describe: 'serve Prometheus metrics on PORT, :PORT (all interfaces) or HOST:PORT' })
  .option('dry-run', { type: 'boolean', default: false, describe: 'list what would be sent and why (new, changed, reset, ...), with sizes; send nothing, write no ledger row (--to not needed)' })
  .option('forward', { type: 'string', array: true, describe: 'pass-through channel NAME=udp://HOST:PORT (datagrams) or NAME=tcp-listen://HOST:PORT (each connection a session); repeatable, up to 64' })
  .option('forward-rate', { type: 'string', describe: 'the most of --rate the channels may take, bits per second (default: half of --rate; all of it without a source directory)' })
  .option('forward-flush', { type: 'string', default: '20', describe: 'milliseconds after which a channel\'s FEC block is closed and its parity sent (or 50ms, 1s)' })
  .option('forward-copies', { type: 'number', default: 2, describe: `times each datagram of a quiet channel (under ${QUIET_PER_SECOND} records/s) is sent, ${COPY_SPACING_MS} ms apart; the receiver delivers it once (1 = no copies, at most 8)` });

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
  .option('dry-run', { type: 'boolean', describe: 'reset: print what would be reset, change nothing' })
  .option('source', { type: 'string', describe: 'the source tree whose ledger to use (default: the only ledger under --state)' })
  .option('interactive', { alias: 'i', type: 'boolean', describe: "reset: choose the criteria from a menu, see the versions chosen, confirm (answers may be piped on stdin)" });

/** What a command's handler receives, with the global --state and --ledger. */
type ArgsOf<F> = F extends (y: Argv<object>) => Argv<infer T> ? ArgumentsCamelCase<T> & { state?: string; ledger?: string; quiet?: boolean; verbose?: boolean } : never;

async function main(): Promise<void> {
  let parsed: { kind: 'send'; argv: ArgsOf<typeof sendOptions> } | { kind: 'ledger'; argv: ArgsOf<typeof ledgerOptions> } | undefined;
  const args = stdioDashAsValue(hideBin(process.argv), '--to');
  await (await commandLine(PROGRAM, args, VERSION))
    .usage('$0 <source-dir> --to URL [options]\n$0 ledger list|stats|reset [options]\n\nSend a directory tree across a one-way link; with --forward and no source directory, only the pass-through channels.')
    .option('state', { type: 'string', describe: `sender state directory (default: $STATE_DIRECTORY under systemd, else $XDG_STATE_HOME/diodesync; here ${defaultStateDir()})` })
    .option('ledger', { type: 'string', describe: 'SQLite ledger file (default: one per source tree, <state>/ledgers/<name>-<hash of its real path>.sqlite; an existing <state>/ledger.sqlite of the same tree is kept)' })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'log warnings and errors only' })
    .option('verbose', { alias: 'v', type: 'boolean', describe: 'log debug lines too' })
    .command('$0 [source-dir]', 'send the tree, then keep watching it (or exit after --once)', sendOptions, (argv) => void (parsed = { kind: 'send', argv }))
    .command('ledger <action>', 'read or correct the ledger (list, stats, reset); works while a sender runs', ledgerOptions, (argv) => void (parsed = { kind: 'ledger', argv }))
    .config('config', 'JSON file (// comments allowed) whose keys are long option names, source-dir included',
      (file) => (isLedgerCommand(args) ? ledgerConfig(readConfigFile(file)) : readConfigFile(file)))
    .parseAsync();
  if (!parsed) return; // --help
  setLogThreshold(thresholdFromFlags(parsed.argv.quiet, parsed.argv.verbose));
  if (parsed.kind === 'ledger') {
    const a = parsed.argv;
    if (a.path !== undefined) checkedGlob('--path', a.path); // a typo is named before the ledger is looked for
    const ledgerFile = ledgerForCommand({ ledger: a.ledger, state: a.state, source: a.source });
    ledgerFileForErrors = ledgerFile;
    const command = {
      action: a.action as LedgerAction, ledger: ledgerFile, status: a.status, json: a.json, since: a.since, until: a.until,
      path: a.path, regex: a.regex, fromReport: a.fromReport, all: a.all, dryRun: a.dryRun,
    };
    if (a.interactive) await runInteractiveReset(command);
    else runLedgerCommand(command);
    return;
  }
  const argv = parsed.argv;
  // --forward without a source directory: a forwarding-only sender (streams/forward-only.ts).
  const forwardOnly = argv['source-dir'] === undefined && (argv.forward?.length ?? 0) > 0 && !argv.dryRun;
  if (argv['source-dir'] === undefined && !forwardOnly) throw new UsageError('no source directory: give it first, or as "source-dir" in the --config file (or only --forward channels, without one)');
  const source = String(argv['source-dir'] ?? '');
  let isDir = forwardOnly;
  try {
    isDir ||= statSync(source).isDirectory();
  } catch {
    throw new UsageError(`source directory '${source}' does not exist`);
  }
  if (!isDir) throw new UsageError(`'${source}' is not a directory`);
  const sourceReal = forwardOnly ? '' : realpathSync(source);
  const location = forwardOnly ? { file: '', legacy: false } : ledgerFor(argv, sourceReal);
  const ledgerFile = location.file;
  ledgerFileForErrors = ledgerFile;
  const redundancy = wholeNumberOption('--redundancy', argv.redundancy, 1, 1000, '2');
  const include = (argv.include ?? []).map((glob) => checkedGlob('--include', glob));
  const exclude = (argv.exclude ?? []).map((glob) => checkedGlob('--exclude', glob));
  if (argv.dryRun) return runDryRun({ source: sourceReal, filter: treeFilter(include, exclude), redundancy, resume: argv.resume }, ledgerFile);
  if (argv.to === undefined) throw new UsageError('Missing required argument: to');

  const links = parseOrUsage(() => parseNamedLinks([argv.to].flat().map(String), (url) => parseEndpoint(url, ['udp', 'tcp', 'stdio', 'pcap']), '--to'));
  if (argv.stripe && links.length < 2) throw new UsageError('--stripe needs --to at least twice');
  const endpoint = links[0]!.endpoint;
  const rate = argv.l !== undefined ? kbitRateOption('-l', argv.l) : rateOption('--rate', argv.rate);
  const mtu = wholeNumberOption('--mtu', argv.mtu, 576, MAX_DATAGRAM + IP_UDP_OVERHEAD, '1500');
  const fec = parseOrUsage(() => parseFec(argv.fec));
  const interleave = wholeNumberOption('--interleave', argv.interleave, 1, 256, '16');
  const ttl = wholeNumberOption('--ttl', argv.ttl, 0, 255, '4');
  if (argv.encrypt && argv['key-file'] === undefined) throw new UsageError('--encrypt needs --key-file');
  const keyFile = argv['key-file'];
  const sealing = keyFile === undefined ? undefined : { auth: readKeyFile(keyFile), encrypt: argv.encrypt };
  // The tag, if any, must fit the MTU too; with FEC a full chunk is a whole number of the codec's
  // 8-byte words, so parity frames fit as well.
  const maxChunk = Math.min(MAX_PAYLOAD, mtu - IP_UDP_OVERHEAD - HEADER_SIZE - (sealing ? TAG_SIZE : 0));
  const chunkSize = fecEnabled(fec) ? maxChunk - (maxChunk % 8) : maxChunk;
  const settleMs = durationOption('--settle', argv.settle, 'ms', '2000');
  const pollMs = argv.poll === undefined ? undefined : durationOption('--poll', argv.poll, 'ms', '1000', true);
  if (pollMs !== undefined && pollMs < 10) throw new UsageError(`--poll: at least 10 ms, got '${argv.poll}'; e.g. --poll 1000`);
  const passIntervalS = durationOption('--pass-interval', argv['pass-interval'], 's', '60');
  const heartbeatS = durationOption('--heartbeat', argv.heartbeat, 's', '5', true);
  const rescanS = durationOption('--rescan', argv.rescan, 's', '1h', true);
  const manifestIntervalS = durationOption('--manifest-interval', argv['manifest-interval'], 's', '300', true);
  for (const ignored of ignoredSendOptions(argv, endpoint, fec)) log('option-ignored', { ...ignored });
  if (forwardOnly) for (const ignored of ignoredForwardOnlyOptions(argv)) log('option-ignored', { ...ignored });
  for (const ignored of ignoredChannelOptions(argv)) log('option-ignored', { ...ignored });

  const metricsAt = argv.metrics === undefined ? undefined : parseOrUsage(() => parseMetricsAddress(argv.metrics!));

  const channels = parseOrUsage(() => parseChannelSpecs('forward', argv.forward ?? [], ['udp', 'tcp-listen'], false));
  const forwardRate = argv['forward-rate'] === undefined ? (forwardOnly ? rate : rate / 2) : rateOption('--forward-rate', argv['forward-rate']);
  if (forwardRate > rate) throw new UsageError('--forward-rate cannot exceed --rate: the channels share the link with the files');
  const flushMs = durationOption('--forward-flush', argv['forward-flush'], 'ms', '20', true);
  if (flushMs > 10_000) throw new UsageError(`--forward-flush: at most 10 s, got '${argv['forward-flush']}'; e.g. --forward-flush 20`);
  const copies = wholeNumberOption('--forward-copies', argv['forward-copies'], 1, 8, '2');
  const copyPolicy = { copies, spacingMs: COPY_SPACING_MS, quietPerSecond: QUIET_PER_SECOND };
  if (forwardOnly) return forwardOnlyRun({ links, argv, rate, sealing, channels, forwardRate, flushMs, fec, maxChunk, copyPolicy, heartbeatMs: heartbeatS * 1000 });

  // Open the ledger before the socket: an unusable ledger stops us before anything is sent.
  if (location.legacy) log('ledger-legacy', { ledger: ledgerFile, detail: 'the ledger at the old default location records this tree: it stays in use' });
  const ledger = Ledger.open(ledgerFile, { create: true });
  const settings = { source: sourceReal, to: [argv.to].flat().join(' '), rate, redundancy, mtu, once: argv.once };
  let session: { id: number; startedAt: number };
  try {
    ledger.claimSource(settings.source);
    session = ledger.beginSession(settings, argv.resume);
  } catch (err) {
    ledger.close();
    throw err;
  }
  // --once is a job with an end: a link that stays down for about a minute fails it (exit 2).
  const tcpAttempts = argv.once ? 8 : Infinity;
  const udp = { ttl, multicastInterface: argv['multicast-interface'], broadcast: argv.broadcast, io: argv.io as UdpIoPreference };
  const sink = await openLinks(links, udp, tcpAttempts, argv.stripe ? 'stripe' : 'copy').catch((err: Error) => {
    ledger.close();
    throw new UsageError(err.message);
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
      source, redundancy, chunkSize, fec, interleave, passIntervalMs: passIntervalS * 1000, heartbeatMs: heartbeatS * 1000,
      rescanMs: rescanS * 1000, manifestIntervalMs: manifestIntervalS * 1000,
      settleMs, filter: treeFilter(include, exclude), announceChanges: argv.delete,
      pollMs, startedAt: session.startedAt,
    },
    emitter,
    ledger,
    stop.signal,
  );
  let streamFailure: Error | undefined;
  const forwarder = channels.length === 0 ? undefined : new StreamForwarder({ channels, forwardRate, flushMs, fec, maxPayload: maxChunk, copies: copyPolicy }, emitter, (err) => {
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
    version: VERSION, to: sink.description, ...(links.length > 1 && { links: links.length, stripe: argv.stripe }), io: sink.io?.mode ?? 'stream', ioReason: sink.io?.reason, crc: crcPath, ...(fecEnabled(fec) && { parity: parityPath }),
    session: sessionId.toString(16), rate: formatBitRate(rate), redundancy, fec: formatFec(fec), interleave, chunkSize,
    mode: argv.once ? 'once' : 'watch', auth: sealing ? (sealing.encrypt ? 'hmac+aes-256-gcm' : 'hmac') : 'none', ledger: ledgerFile, resume: argv.resume,
  });
  const started = performance.now();
  const metrics = metricsAt && await serveMetrics(metricsAt, () => formatSenderMetrics({
    stats: sender.stats, passes: sender.cycles, framesSent: emitter.framesSent, wireBytesSent: emitter.bytesSent, rateLimit: rate,
    seconds: (performance.now() - started) / 1000, ledger: readLedgerCounts(ledger), linkRefused: (sink as { refused?: number }).refused ?? 0,
  })).catch(async (err: NodeJS.ErrnoException) => {
    ledger.close();
    await sink.close();
    throw new UsageError(`cannot serve metrics on ${metricsAt.text}: ${err.code ?? err.message}`);
  });
  if (metrics) log('metrics', { on: metricsAt!.text, port: metrics.port });
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
    await metrics?.close(); // before the ledger it reads
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
  for (const link of sink.summary?.() ?? []) log('link-done', { link: link.name, frames: link.framesSent, missed: link.framesMissed, up: link.up });
  for (const [channel, counts] of Object.entries(forwarder?.counts() ?? {})) log('channel-done', { channel, ...counts });
  if (stop.signal.aborted) return;
  if (unsent > 0) fail(PROGRAM, `${unsent} file(s) could not be read and were not sent`, 2);
  if (stats.unreadable > 0) fail(PROGRAM, `${stats.unreadable} entr${stats.unreadable === 1 ? 'y' : 'ies'} of the tree could not be read (see entry-unreadable): the tree was not sent whole`, 2);
}

/** --forward without a source directory: the links, the channels and heartbeats; no ledger, no file passes. */
async function forwardOnlyRun(o: {
  links: NamedLink<Endpoint>[]; argv: ArgsOf<typeof sendOptions>; rate: number; sealing: FrameSealing | undefined; channels: ChannelSpec[];
  forwardRate: number; flushMs: number; fec: FecLayout; maxChunk: number; copyPolicy: CopyPolicy; heartbeatMs: number;
}): Promise<void> {
  const { argv } = o;
  const udp = { ttl: argv.ttl, multicastInterface: argv['multicast-interface'], broadcast: argv.broadcast, io: argv.io as UdpIoPreference };
  const sink = await openLinks(o.links, udp, Infinity, argv.stripe ? 'stripe' : 'copy').catch((err: Error) => {
    throw new UsageError(err.message);
  });
  const sessionId = randomInt(1, 0xffff_ffff);
  const emitter = new FrameEmitter(sessionId, sink, new TokenBucket(o.rate), o.sealing);
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log('stopping', { signal });
      stop.abort();
    });
  }
  let streamFailure: Error | undefined;
  const forwarder = new StreamForwarder({ channels: o.channels, forwardRate: o.forwardRate, flushMs: o.flushMs, fec: o.fec, maxPayload: o.maxChunk, copies: o.copyPolicy }, emitter, (err) => {
    streamFailure ??= err;
    stop.abort();
  });
  const ports = await forwarder.start().catch(async (err: NodeJS.ErrnoException) => {
    await sink.close();
    throw new UsageError(`cannot open a --forward channel: ${err.code ?? err.message}${err.code && 'address' in err ? ` on ${String(err.address)}:${String((err as { port?: number }).port)}` : ''}`);
  });
  for (const c of o.channels) log('forwarding', { channel: c.name, on: c.text, port: ports[c.name], forwardRate: formatBitRate(o.forwardRate), flushMs: o.flushMs });
  log('forward-only', { detail: 'no source directory: only the --forward channels and heartbeats are sent (no ledger, no file passes) until stopped' });
  log('start', {
    version: VERSION, to: sink.description, ...(o.links.length > 1 && { links: o.links.length, stripe: argv.stripe }), io: sink.io?.mode ?? 'stream', ioReason: sink.io?.reason,
    session: sessionId.toString(16), rate: formatBitRate(o.rate), fec: formatFec(o.fec), mode: 'forward-only', auth: o.sealing ? (o.sealing.encrypt ? 'hmac+aes-256-gcm' : 'hmac') : 'none',
  });
  try {
    await runForwardOnly(emitter, forwarder, o.heartbeatMs, Date.now(), stop.signal);
  } finally {
    await sink.close();
  }
  if (streamFailure) throw streamFailure;
  log('done', { frames: emitter.framesSent, wireBytes: emitter.bytesSent });
  for (const [channel, counts] of Object.entries(forwarder.counts())) log('channel-done', { channel, ...counts });
}

/** The live line on a terminal: what is queued and sent, the rate and the time left. */
function progressLine(stats: SenderStats, wireBytes: number, seconds: number): string {
  const rate = seconds > 0 ? (wireBytes * 8) / seconds : 0;
  const eta = rate > 0 && stats.queuedBytes > 0 ? Math.ceil((stats.queuedBytes * 8) / rate) : 0;
  return `sent ${stats.filesSent} files (${formatBytes(stats.fileBytesSent)}), queued ${stats.queuedFiles} (${formatBytes(stats.queuedBytes)}), ${formatBitRate(rate)}${eta ? `, ETA ${Math.floor(eta / 60)}:${String(eta % 60).padStart(2, '0')}` : ''}`;
}

let ledgerFileForErrors = '';

runMain(PROGRAM, main, (err) => {
  if (err instanceof CriteriaError || err instanceof LedgerError) return { message: err.message, code: 1 };
  if (err instanceof TransportError) return { message: err.message, code: 2 };
  // The ledger broke while we ran (disk full, corrupted underneath us): say so, and how to rebuild it.
  if (isSqliteError(err)) return { message: damagedLedger(ledgerFileForErrors || 'file', err.message).message, code: 1 };
  return undefined;
});
