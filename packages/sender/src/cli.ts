#!/usr/bin/env node
import { statSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import {
  HEADER_SIZE, IP_UDP_OVERHEAD, MAX_DATAGRAM, MAX_PAYLOAD,
  fecEnabled, formatBitRate, formatFec, parseBitRate, parseEndpoint, parseFec,
} from '@diodesync/protocol';
import { FrameEmitter } from './frame-emitter.js';
import { log } from './log.js';
import { TokenBucket } from './rate-limiter.js';
import { Sender } from './sender.js';
import { openSink } from './sinks.js';

const PROGRAM = 'diode-send';

/** A mistake in what the user asked for: one line, exit 1. */
class UsageError extends Error {}

function fail(message: string, code = 1): never {
  process.stderr.write(`${PROGRAM}: error: ${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  const argv = await yargs(hideBin(process.argv))
    .scriptName(PROGRAM)
    .usage('$0 <source-dir> --to URL [options]\n\nSend a directory tree across a one-way link.')
    .command('$0 <source-dir>', 'send the tree, then keep watching it (or exit after --once)', (y) =>
      y.positional('source-dir', { type: 'string', describe: 'directory to mirror', demandOption: true }))
    .option('to', { type: 'string', demandOption: true, describe: 'destination: udp://HOST:PORT' })
    .option('once', { type: 'boolean', default: false, describe: 'send the tree (all R passes) and exit' })
    .option('rate', { type: 'string', default: '100m', describe: 'bits per second on the wire (k, m, g suffixes)' })
    .option('l', { type: 'number', describe: 'rate in kbit/s (BlindFTP/AROWBftp style); overrides --rate' })
    .option('redundancy', { alias: 'R', type: 'number', default: 2, describe: 'times every file version is sent' })
    .option('fec', { type: 'string', default: '20+4', describe: 'K+M: M parity frames per K data frames (0 = none)' })
    .option('interleave', { type: 'number', default: 16, describe: 'FEC blocks interleaved on the wire: survives bursts of this many lost frames' })
    .option('mtu', { type: 'number', default: 1500, describe: 'link MTU in bytes (9000 jumbo, up to 65535 on loopback)' })
    .option('pass-interval', { type: 'number', default: 0, describe: 'seconds between two sends of the same version' })
    .option('heartbeat', { type: 'number', default: 5, describe: 'seconds between heartbeats' })
    .option('rescan', { type: 'number', default: 10, describe: 'watch mode: seconds between rescans of the tree' })
    .config('config', 'JSON file whose keys are long option names')
    .strict()
    .help()
    .version(false)
    .fail((msg, err) => {
      throw new UsageError(msg ?? err?.message ?? 'invalid arguments');
    })
    .parseAsync();

  const source = String(argv['source-dir']);
  let isDir = false;
  try {
    isDir = statSync(source).isDirectory();
  } catch {
    throw new UsageError(`source directory '${source}' does not exist`);
  }
  if (!isDir) throw new UsageError(`'${source}' is not a directory`);

  const endpoint = parseOrUsage(() => parseEndpoint(argv.to, ['udp']));
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
  // With FEC a full chunk is a whole number of the codec's 8-byte words, so parity frames fit the MTU too.
  const maxChunk = Math.min(MAX_PAYLOAD, mtu - IP_UDP_OVERHEAD - HEADER_SIZE);
  const chunkSize = fecEnabled(fec) ? maxChunk - (maxChunk % 8) : maxChunk;
  for (const name of ['pass-interval', 'heartbeat', 'rescan'] as const) {
    if (!(argv[name] >= 0) || (name !== 'pass-interval' && argv[name] === 0)) throw new UsageError(`--${name} must be a positive number of seconds`);
  }

  const sink = await openSink(endpoint);
  const sessionId = randomInt(1, 0xffff_ffff);
  const emitter = new FrameEmitter(sessionId, sink, new TokenBucket(rate));
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log('stopping', { signal });
      stop.abort();
    });
  }
  const sender = new Sender(
    { source, redundancy, chunkSize, fec, interleave, passIntervalMs: argv['pass-interval'] * 1000, heartbeatMs: argv.heartbeat * 1000, rescanMs: argv.rescan * 1000 },
    emitter,
    stop.signal,
  );
  log('start', { to: sink.description, session: sessionId.toString(16), rate: formatBitRate(rate), redundancy, fec: formatFec(fec), interleave, chunkSize, mode: argv.once ? 'once' : 'watch' });
  const started = performance.now();
  let unsent = 0;
  try {
    if (argv.once) unsent = await sender.runOnce();
    else await sender.watch();
  } finally {
    await sink.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const { stats } = sender;
  log('done', {
    files: stats.filesSent, fileBytes: stats.fileBytesSent, frames: emitter.framesSent, wireBytes: emitter.bytesSent,
    seconds: Number(seconds.toFixed(3)), wireRate: formatBitRate((emitter.bytesSent * 8) / seconds),
    changedDuringSend: stats.changedDuringSend, unreadable: unsent,
  });
  if (unsent > 0 && !stop.signal.aborted) fail(`${unsent} file(s) could not be read and were not sent`, 2);
}

function parseOrUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

main().catch((err: unknown) => {
  if (err instanceof UsageError) fail(err.message);
  const e = err as NodeJS.ErrnoException;
  if (process.env.DIODESYNC_DEBUG) process.stderr.write(`${e.stack}\n`);
  fail(e.code ? `${e.message}` : String(e.message ?? e));
});
