import type { Endpoint, NamedLink } from '@diodesync/cli-kit';
import { log } from '../log.js';
import type { FrameSink } from './frame-sink.js';
import { LinkFanout, type FanoutMode } from './link-fanout.js';
import { openSink } from './sinks.js';
import type { UdpOptions } from './udp-sink.js';

/**
 * Opens every --to: one is the sink itself, as ever; several become one LinkFanout (copies, or a
 * stripe), which logs each link that goes down or comes back. A link that cannot be opened at the
 * start is an error ("cannot open URL: why"), as with one.
 */
export async function openLinks(links: readonly NamedLink<Endpoint>[], udp: UdpOptions, tcpAttempts: number, mode: FanoutMode): Promise<FrameSink & { summary?: LinkFanout['summary'] }> {
  const sinks = await Promise.all(links.map(async (link) => ({
    name: link.name,
    sink: await openSink(link.endpoint, udp, tcpAttempts).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`cannot open ${link.url}: ${err.code ?? err.message}`);
    }),
  })));
  if (sinks.length === 1) return sinks[0]!.sink;
  return new LinkFanout(sinks, mode, {
    down: (link, error) => log('link-down', { link, error, hint: 'the other links go on; frames for this one are missed until it is back' }),
    up: (link) => log('link-up', { link }),
  });
}
