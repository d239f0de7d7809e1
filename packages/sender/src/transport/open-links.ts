import { setTimeout as sleep } from 'node:timers/promises';
import type { Endpoint, NamedLink } from '@diodesync/cli-kit';
import { log } from '../log.js';
import type { FrameSink } from './frame-sink.js';
import { LinkFanout, type FanoutMode } from './link-fanout.js';
import { openSink } from './sinks.js';
import type { UdpOptions } from './udp-sink.js';

/** How long the start waits for a link to open (a TCP appliance answering) before the others begin without it. */
const OPEN_WAIT_MS = 1_000;

/**
 * Opens every --to: one is the sink itself, as ever (a link that cannot be opened is an error,
 * "cannot open URL: why"). Several become one LinkFanout (copies, or a stripe), which logs each
 * link that goes down or comes back: a link that fails at once (a bad address) is still an error,
 * but one still connecting after a second (a TCP appliance not up yet) joins when it connects,
 * while the others send.
 */
export async function openLinks(links: readonly NamedLink<Endpoint>[], udp: UdpOptions, tcpAttempts: number, mode: FanoutMode): Promise<FrameSink & { summary?: LinkFanout['summary'] }> {
  const named = (link: NamedLink<Endpoint>) => (err: NodeJS.ErrnoException) => {
    throw new Error(`cannot open ${link.url}: ${err.code ?? err.message}`);
  };
  if (links.length === 1) return openSink(links[0]!.endpoint, udp, tcpAttempts).catch(named(links[0]!));
  const stop = new AbortController();
  const opening = links.map((link) => openSink(link.endpoint, udp, tcpAttempts, stop.signal).catch(named(link)));
  const waited = await Promise.all(opening.map((o) => Promise.race([o, sleep(OPEN_WAIT_MS, undefined, { ref: false })]))).catch((err: unknown) => {
    for (const o of opening) o.catch(() => undefined); // the others are given up: their failures are no news
    stop.abort();
    throw err;
  });
  return new LinkFanout(links.map((link, i) => ({ name: link.name, url: link.url, sink: waited[i] ?? opening[i]! })), mode, {
    down: (link, error) => log('link-down', { link, error, hint: 'the other links go on; frames for this one are missed until it is back' }),
    up: (link) => log('link-up', { link }),
    closing: () => stop.abort(),
  });
}
