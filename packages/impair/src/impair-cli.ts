#!/usr/bin/env node
import * as dgram from 'node:dgram';
import { isIP } from 'node:net';
import { UsageError, commandLine, durationOption, log, packageVersion, parseEndpoint, parseOrUsage, rateOption, runMain, sizeOption } from '@diodesync/cli-kit';
import { Impairment, type ImpairmentConfig } from './impairment.js';
import { LinkShaper } from './link-shaper.js';

const PROGRAM = 'diode-impair';
const VERSION = packageVersion(import.meta.url);

function probability(name: string, value: number): number {
  if (!(value >= 0 && value <= 1)) throw new UsageError(`--${name} must be a probability between 0 and 1`);
  return value;
}

/** "P,R[,LOSS_BAD[,LOSS_GOOD]]" */
function parseGilbertElliott(text: string): ImpairmentConfig['gilbertElliott'] {
  const parts = text.split(',').map(Number);
  if (parts.length < 2 || parts.length > 4) throw new UsageError('--ge must be P,R[,LOSS_BAD[,LOSS_GOOD]]');
  const [p, r, lossBad = 1, lossGood = 0] = parts.map((v) => probability('ge', v!));
  return { p: p!, r: r!, lossBad, lossGood };
}

/** "N/M[+K]": the last N datagrams of every M are lost, the pattern K datagrams later. */
function parseBurst(text: string): ImpairmentConfig['burst'] {
  const match = /^(\d+)\/(\d+)(?:\+(\d+))?$/.exec(text.trim());
  const length = Number(match?.[1]);
  const every = Number(match?.[2]);
  if (!match || length < 1 || every <= length) throw new UsageError('--burst must be N/M[+K] with 1 <= N < M');
  return { length, every, phase: Number(match[3] ?? 0) };
}

async function main(): Promise<void> {
  const argv = await (await commandLine(PROGRAM, process.argv.slice(2), VERSION))
    .usage('$0 --listen URL --to URL [impairments]\n\nA UDP relay that impairs what it forwards, reproducibly from a seed: a lab stand-in for a bad link.')
    .option('listen', { type: 'string', demandOption: true, describe: 'where datagrams arrive: udp://HOST:PORT (port 0: any)' })
    .option('to', { type: 'string', demandOption: true, describe: 'where they go: udp://HOST:PORT' })
    .option('seed', { type: 'number', default: 1, describe: 'seed of the random choices: the same seed gives the same channel' })
    .option('loss', { type: 'number', default: 0, describe: 'probability that a datagram is lost' })
    .option('ge', { type: 'string', describe: 'Gilbert-Elliott bursts P,R[,LOSS_BAD[,LOSS_GOOD]]: good->bad P, bad->good R' })
    .option('burst', { type: 'string', describe: 'N/M[+K]: the last N datagrams of every M are lost; +K shifts the pattern K datagrams later (two relays losing different datagrams)' })
    .option('flip', { type: 'number', default: 0, describe: 'probability that one bit of a datagram is flipped' })
    .option('truncate', { type: 'number', default: 0, describe: 'probability that a datagram is cut short' })
    .option('duplicate', { type: 'number', default: 0, describe: 'probability that a datagram is sent twice' })
    .option('reorder', { type: 'number', default: 0, describe: 'probability that a datagram is sent after the next one' })
    .option('rate', { type: 'string', describe: 'rate cap in bits per second (k, m, g suffixes); none by default' })
    .option('queue', { type: 'string', default: '256k', describe: 'with --rate: bytes queued before tail drop' })
    .option('stats', { type: 'string', default: '5', describe: 'seconds between counter lines (or 500ms, 1m; 0 = only at exit)' })
    .parseAsync();

  const listen = parseOrUsage(() => parseEndpoint(argv.listen, ['udp']));
  const to = parseOrUsage(() => parseEndpoint(argv.to, ['udp']));
  const config: ImpairmentConfig = {
    seed: argv.seed,
    loss: probability('loss', argv.loss),
    flip: probability('flip', argv.flip),
    truncate: probability('truncate', argv.truncate),
    duplicate: probability('duplicate', argv.duplicate),
    reorder: probability('reorder', argv.reorder),
    gilbertElliott: argv.ge === undefined ? undefined : parseGilbertElliott(argv.ge),
    burst: argv.burst === undefined ? undefined : parseBurst(argv.burst),
  };
  const rate = argv.rate === undefined ? undefined : rateOption('--rate', argv.rate, '100m');
  const queueBytes = sizeOption('--queue', argv.queue, '256k');
  const statsSeconds = durationOption('--stats', argv.stats, 's', '5');

  const socket = dgram.createSocket(isIP(listen.host) === 6 ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', (err) => reject(new UsageError(`cannot listen on ${argv.listen}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
    socket.bind(listen.port, listen.host, () => resolve());
  });
  socket.on('error', () => undefined); // ICMP unreachable from an absent receiver: a diode ignores it too
  try {
    socket.setRecvBufferSize(32 * 1024 * 1024);
    socket.setSendBufferSize(8 * 1024 * 1024);
  } catch {
    // capped by the kernel
  }
  const impairment = new Impairment(config);
  const forward = (d: Buffer) => socket.send(d, to.port, to.host);
  const shaper = rate === undefined ? undefined : new LinkShaper(rate, queueBytes, forward);
  const out = shaper ? (d: Buffer) => shaper.push(d) : forward;
  socket.on('message', (msg) => {
    for (const d of impairment.process(msg)) out(d);
  });
  const counters = () => ({ ...impairment.counters, rateDropped: shaper?.dropped ?? 0 });
  if (rate === undefined && String(argv.queue) !== '256k') log('option-ignored', { option: '--queue', reason: 'it is the queue of the --rate cap, which is not given' });
  log('listening', { version: VERSION, on: `udp://${listen.host}:${socket.address().port}`, port: socket.address().port, to: argv.to, seed: config.seed });
  const ticker = statsSeconds > 0 ? setInterval(() => log('counters', counters()), statsSeconds * 1000) : undefined;

  const stop = (signal: string) => {
    clearInterval(ticker);
    for (const d of impairment.flush()) out(d);
    shaper?.stop();
    log('exit', { signal, ...counters() });
    socket.close(() => process.exit(0));
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop(signal));
}

runMain(PROGRAM, main);
