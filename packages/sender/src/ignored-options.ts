import { isMulticast, type Endpoint } from '@diodesync/cli-kit';
import { fecEnabled, type FecLayout } from '@diodesync/protocol';

/** An option given that changes nothing, and why: logged as one `option-ignored` line, the run goes on. */
export interface IgnoredOption {
  option: string;
  reason: string;
}

/** The send options this check reads, as yargs gives them: a value other than the default was given (a config file may give numbers). */
interface SendArgs {
  rate: string | number;
  l?: string | number | undefined;
  ttl: number;
  'multicast-interface'?: string | undefined;
  broadcast: boolean;
  io: string;
  once: boolean;
  poll?: string | number | undefined;
  rescan: string | number;
  'manifest-interval': string | number;
  interleave: number;
}

/** --rescan other than its default (1h, however written). */
const rescanGiven = (rescan: string | number) => !['1h', '3600'].includes(String(rescan));

/** Options that have no effect without another, or with the destination given. */
export function ignoredSendOptions(argv: SendArgs, to: Endpoint, fec: FecLayout): IgnoredOption[] {
  const ignored: IgnoredOption[] = [];
  const unless = (given: boolean, option: string, reason: string) => given && ignored.push({ option, reason });
  const udp = to.scheme === 'udp';
  const multicast = udp && isMulticast(to.host);
  unless(argv.l !== undefined && String(argv.rate) !== '100m', '--rate', '-l sets the rate');
  unless(argv.ttl !== 1 && !multicast, '--ttl', 'only a multicast --to has a TTL');
  unless(argv['multicast-interface'] !== undefined && !multicast, '--multicast-interface', '--to is not a multicast group');
  unless(argv.broadcast && !udp, '--broadcast', '--to is not udp://');
  unless(argv.io !== 'auto' && !udp, '--io', '--to is not udp://');
  unless(argv.interleave !== 16 && !fecEnabled(fec), '--interleave', 'it interleaves FEC blocks, and --fec is 0');
  for (const [option, given] of [['--poll', argv.poll !== undefined], ['--rescan', rescanGiven(argv.rescan)], ['--manifest-interval', String(argv['manifest-interval']) !== '300']] as const) {
    unless(argv.once && given, option, 'watch mode only, and --once sends the tree and exits');
  }
  return ignored;
}

/** The options a forwarding-only sender (--forward, no source directory) reads, as yargs gives them. */
interface ForwardOnlyArgs {
  once: boolean;
  resume: boolean;
  redundancy: number;
  interleave: number;
  'pass-interval': string | number;
  rescan: string | number;
  settle: string | number;
  poll?: string | number | undefined;
  include?: (string | number)[] | undefined;
  exclude?: (string | number)[] | undefined;
  delete: boolean;
  'manifest-interval': string | number;
  ledger?: string | undefined;
  metrics?: string | undefined;
}

/** Options about the file tree: a forwarding-only sender has none, so each given one changes nothing. */
export function ignoredForwardOnlyOptions(argv: ForwardOnlyArgs): IgnoredOption[] {
  const reason = 'no source directory: only the --forward channels are sent';
  const given: [string, boolean][] = [
    ['--once', argv.once], ['--resume', argv.resume], ['--redundancy', argv.redundancy !== 2], ['--interleave', argv.interleave !== 16],
    ['--pass-interval', String(argv['pass-interval']) !== '0'], ['--rescan', rescanGiven(argv.rescan)], ['--settle', String(argv.settle) !== '2000'],
    ['--poll', argv.poll !== undefined], ['--include', (argv.include?.length ?? 0) > 0], ['--exclude', (argv.exclude?.length ?? 0) > 0],
    ['--delete', argv.delete], ['--manifest-interval', String(argv['manifest-interval']) !== '300'], ['--ledger', argv.ledger !== undefined],
    // The sender's metrics are the ledger's and the passes' (the channels' counts are in the channel-done lines).
    ['--metrics', argv.metrics !== undefined],
  ];
  return given.filter(([, g]) => g).map(([option]) => ({ option, reason }));
}

/** The channel options, given without any --forward channel: they change nothing. */
export function ignoredChannelOptions(argv: { forward?: unknown[] | undefined; 'forward-rate'?: unknown; 'forward-flush': unknown; 'forward-copies': unknown }): IgnoredOption[] {
  if ((argv.forward?.length ?? 0) > 0) return [];
  const given: [string, boolean][] = [
    ['--forward-rate', argv['forward-rate'] !== undefined], ['--forward-flush', String(argv['forward-flush']) !== '20'], ['--forward-copies', argv['forward-copies'] !== 2],
  ];
  return given.filter(([, g]) => g).map(([option]) => ({ option, reason: 'no --forward channel' }));
}
