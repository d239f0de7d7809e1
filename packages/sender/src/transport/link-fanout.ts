import { FrameType, HEADER_LAYOUT } from '@diodesync/protocol';
import { TransportError, type FrameSink } from './frame-sink.js';

/** A link that takes this long to take a frame (a TCP link reconnecting) is down: the others go on without waiting for it. */
const STALL_MS = 2_000;
/** A link whose send failed is tried again after this long. */
const RETRY_MS = 1_000;

export type FanoutMode = 'copy' | 'stripe';

export interface FanoutEvents {
  down(link: string, error: string): void;
  up(link: string): void;
  /** The run ends: links still opening stop trying. */
  closing?(): void;
}

interface OutLink {
  name: string;
  /** Undefined while the link is still being opened (a TCP appliance not up yet). */
  sink: FrameSink | undefined;
  up: boolean;
  /** A send or flush that has not finished: while it lasts past STALL_MS the link is down. */
  pending: Promise<void> | undefined;
  /** The last error, and when the link may be tried again. */
  error: string | undefined;
  retryAt: number;
  framesSent: number;
  /** Frames this link should have carried (copies) and did not because it was down. */
  framesMissed: number;
}

/**
 * Several --to at once, as one sink. `copy` (the default): every frame on each link, two diodes
 * side by side. `stripe`: each frame on one link, chosen by its sequence number among the links
 * that are up (the receiver learns the stride from the numbers), for bandwidth; heartbeats go on
 * every link, so each link's watchdog on the receiver sees it live.
 *
 * One link down does not stop the run: a link whose send fails, or that keeps a frame waiting more
 * than STALL_MS (TCP reconnecting), is logged down and left out (its copies are counted missed; a
 * stripe moves its share to the others) until it takes frames again. Only when every link fails
 * with an error does the run stop, as it does with one link; while every link is merely waiting,
 * the sender waits too. A link may join still opening (a TCP appliance not up at the start): it
 * is down until it connects.
 */
export class LinkFanout implements FrameSink {
  readonly description: string;
  private readonly links: OutLink[];
  private closed = false;

  constructor(
    links: readonly { name: string; url?: string; sink: FrameSink | Promise<FrameSink> }[],
    private readonly mode: FanoutMode,
    private readonly events: FanoutEvents,
  ) {
    this.links = links.map(({ name }) => ({ name, sink: undefined, up: true, pending: undefined, error: undefined, retryAt: 0, framesSent: 0, framesMissed: 0 }));
    links.forEach(({ sink }, i) => this.attach(this.links[i]!, sink));
    const urlOf = (l: (typeof links)[number]) => l.url ?? (l.sink instanceof Promise ? l.name : l.sink.description);
    this.description = links.map((l) => (l.name === urlOf(l) ? l.name : `${l.name}=${urlOf(l)}`)).join(mode === 'stripe' ? ' | ' : ' + ');
  }

  get io(): { mode: string; reason: string } {
    return {
      mode: this.links.map((l) => l.sink?.io?.mode ?? (l.sink ? 'stream' : 'opening')).join('+'),
      reason: this.links.map((l) => `${l.name}: ${l.sink?.io?.reason ?? (l.sink ? 'byte stream' : 'still opening')}`).join('; '),
    };
  }

  /** An open sink is up at once; one still opening is down until it opens (and failed if it cannot). */
  private attach(link: OutLink, sink: FrameSink | Promise<FrameSink>): void {
    if (!(sink instanceof Promise)) {
      link.sink = sink;
      return;
    }
    link.up = false;
    this.events.down(link.name, 'still connecting');
    const opened: Promise<void> = sink.then(
      (s) => {
        link.pending = undefined;
        if (this.closed) return void s.close().catch(() => undefined);
        link.sink = s;
        this.markUp(link);
      },
      (err: unknown) => {
        link.pending = undefined;
        link.error = err instanceof Error ? err.message : String(err);
        link.retryAt = Infinity; // no sink to try again: failed for this run
        if (!this.closed) this.events.down(link.name, `cannot open: ${link.error}`);
      },
    );
    link.pending = opened;
  }

  /** UDP datagrams the kernel refused (ICMP), over all links: what a single UdpSink reports as `refused`. */
  get refused(): number {
    return this.links.reduce((n, l) => n + ((l.sink as { refused?: number } | undefined)?.refused ?? 0), 0);
  }

  /** Per link: frames sent and missed, for the `done` line. */
  summary(): { name: string; framesSent: number; framesMissed: number; up: boolean }[] {
    return this.links.map(({ name, framesSent, framesMissed, up }) => ({ name, framesSent, framesMissed, up }));
  }

  send(parts: readonly Buffer[]): Promise<void> | undefined {
    const usable = this.usable();
    if (usable.length === 0) return this.whenAnyUsable().then(() => this.send(parts));
    const header = parts[0]!;
    const everywhere = this.mode === 'copy' || header[HEADER_LAYOUT.type.offset] === FrameType.Heartbeat;
    const waits: Promise<void>[] = [];
    if (everywhere) {
      for (const link of this.links) {
        if (!usable.includes(link)) link.framesMissed++;
        else this.sendOn(link, parts, waits);
      }
    } else {
      // By sequence number, so each link of a stripe over N sees every Nth number and can judge its own losses.
      const sequence = header.readUInt32BE(HEADER_LAYOUT.sequenceLow.offset);
      for (let i = 0; i < usable.length; i++) {
        if (this.sendOn(usable[(sequence + i) % usable.length]!, parts, waits)) break; // a failed link's frame goes to the next
      }
    }
    this.throwIfAllFailed();
    return waits.length === 0 ? undefined : waits.length === 1 ? waits[0] : Promise.all(waits).then(() => undefined);
  }

  submit(): Promise<void> | undefined {
    const waits: Promise<void>[] = [];
    for (const link of this.usable()) {
      try {
        const wait = link.sink!.submit?.();
        if (wait) waits.push(this.watch(link, wait));
      } catch (err) {
        this.failed(link, err);
      }
    }
    this.throwIfAllFailed();
    return waits.length === 0 ? undefined : Promise.all(waits).then(() => undefined);
  }

  /** Waits for the links that are up; a link that fails or stalls here is marked down, not fatal. */
  async flush(): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const link of this.usable()) {
      try {
        waits.push(this.watch(link, link.sink!.flush()));
      } catch (err) {
        this.failed(link, err);
      }
    }
    await Promise.all(waits);
    this.throwIfAllFailed();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.events.closing?.();
    await Promise.all(this.links.map((l) => l.sink && Promise.race([l.sink.close().catch(() => undefined), delay(STALL_MS)])));
  }

  /** Hands the frame to one link; false if the link failed at once. */
  private sendOn(link: OutLink, parts: readonly Buffer[], waits: Promise<void>[]): boolean {
    try {
      const wait = link.sink!.send(parts);
      link.framesSent++;
      if (!link.up && wait === undefined) this.markUp(link);
      if (wait) waits.push(this.watch(link, wait));
      return true;
    } catch (err) {
      this.failed(link, err);
      return false;
    }
  }

  /** Resolves when the link's wait ends or it is declared down (STALL_MS), whichever is first. */
  private watch(link: OutLink, wait: Promise<void>): Promise<void> {
    const settled = wait.then(
      () => {
        if (link.pending === settled) link.pending = undefined;
        if (!link.up) this.markUp(link);
      },
      (err: unknown) => {
        if (link.pending === settled) link.pending = undefined;
        this.failed(link, err);
      },
    );
    link.pending = settled;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        if (link.pending === settled && link.up) this.markDown(link, `no frame taken for ${STALL_MS / 1000} s`);
        resolve();
      }, STALL_MS);
      void settled.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private usable(now = Date.now()): OutLink[] {
    return this.links.filter((l) => l.sink !== undefined && (l.up || (l.pending === undefined && now >= l.retryAt)));
  }

  private failed(link: OutLink, err: unknown): void {
    link.error = err instanceof Error ? err.message : String(err);
    link.retryAt = Date.now() + RETRY_MS;
    if (link.up) this.markDown(link, link.error);
  }

  private markDown(link: OutLink, error: string): void {
    link.up = false;
    this.events.down(link.name, error);
  }

  private markUp(link: OutLink): void {
    link.up = true;
    link.error = undefined;
    this.events.up(link.name);
  }

  /** Every link failed with an error, none is merely waiting: as with one link, the run stops. */
  private throwIfAllFailed(): void {
    if (this.links.every((l) => !l.up && l.error !== undefined && l.pending === undefined)) {
      throw new TransportError(`every link failed: ${this.links.map((l) => `${l.name}: ${l.error}`).join('; ')}`);
    }
  }

  /** Every link is down: wait for one to take frames again (a reconnect, or the retry time). */
  private whenAnyUsable(): Promise<void> {
    const pending = this.links.flatMap((l) => (l.pending ? [l.pending] : []));
    const retryIn = Math.max(0, Math.min(...this.links.map((l) => (l.pending ? Infinity : l.retryAt))) - Date.now());
    return Promise.race([...pending, ...(Number.isFinite(retryIn) ? [delay(retryIn)] : [])]);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
