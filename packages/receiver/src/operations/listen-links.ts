import type { Endpoint, NamedLink } from '@diodesync/cli-kit';
import { Link, type LinkReceiver } from '../ingest/link.js';
import { openSource, type Source, type SourceEvents } from '../ingest/open-source.js';
import { log } from '../log.js';
import { LinkWatchdog } from './link-watchdog.js';
import { linkStatus, type LinkStatus } from './link-status.js';
import type { ReceiveOptions } from './options.js';

/**
 * The --listen links (one, or several at once) and their transports. With several, each has its
 * own watchdog, so --on-alert names the link that went quiet (DIODESYNC_LINK) while the run goes
 * on with the others; the receiver's own watchdog still tells when the sender is silent on all.
 * With one, that link is the receiver's and its watchdog is the whole receiver's, as before.
 */
export class ListenLinks {
  readonly links: Link[];
  private readonly watchdogs: (LinkWatchdog | undefined)[];
  private readonly sources: Source[] = [];

  constructor(specs: readonly NamedLink<Endpoint>[], receiver: LinkReceiver, private readonly whole: LinkWatchdog, onAlert: string | undefined) {
    this.watchdogs = specs.map((spec) => (specs.length > 1 ? new LinkWatchdog((event, detail) => log(event, detail), onAlert, spec.name) : undefined));
    this.links = specs.map((spec, i) => {
      const watchdog = this.watchdogs[i];
      return new Link(spec, receiver, watchdog && ((sessionId, hb) => watchdog.heartbeat(sessionId, hb.intervalMs, hb.host)));
    });
  }

  /** Opens every link's transport; one that cannot open is a usage error (the caller exits 1). */
  async open(o: ReceiveOptions, events: (link: Link) => SourceEvents): Promise<{ link: Link; source: Source }[]> {
    const opened: { link: Link; source: Source }[] = [];
    for (const link of this.links) {
      const source = await openSource(link.spec.url, link.spec.endpoint, o, link, events(link));
      this.sources.push(source);
      opened.push({ link, source });
    }
    return opened;
  }

  statuses(): LinkStatus[] {
    return this.links.map((link, i) => linkStatus(link, this.watchdogs[i] ?? this.whole));
  }

  stopWatchdogs(): void {
    for (const w of this.watchdogs) w?.stop();
  }

  async close(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.close()));
  }
}
