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
  for (const [option, given] of [['--poll', argv.poll !== undefined], ['--rescan', !['1h', '3600'].includes(String(argv.rescan))], ['--manifest-interval', String(argv['manifest-interval']) !== '300']] as const) {
    unless(argv.once && given, option, 'watch mode only, and --once sends the tree and exits');
  }
  return ignored;
}
