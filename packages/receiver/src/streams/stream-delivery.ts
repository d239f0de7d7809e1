import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { ChannelSpec } from '@diodesync/cli-kit';
import { StreamKind, type StreamRecord } from '@diodesync/protocol';
import { log } from '../log.js';
import type { ChannelOutlet, OutletCounts } from './channel-outlet.js';
import { ChannelReceiver, DEFAULT_TIMING, type ChannelCounts, type ChannelTiming } from './channel-receiver.js';
import { FileOutlet } from './file-outlet.js';
import { TcpOutlet } from './tcp-outlet.js';
import { UdpOutlet } from './udp-outlet.js';

/** One channel as the status shows it. */
export interface ChannelStatus extends ChannelCounts, OutletCounts {
  deliver: string;
  latencyMs: { p50: number; p99: number; max: number };
  /** Since the start (the window above holds the last 4,096): from each record's making to its arrival here, and to its delivery (the difference: waits for earlier records). */
  sinceStartMs: { transit: { p50: number; p99: number; max: number }; delivery: { p50: number; p99: number; max: number } };
}

/** A channel that arrives without a --deliver: counted, dropped. */
export interface UndeliveredCounts {
  messages: number;
  bytes: number;
  /** Not shown: the sequence number after the newest counted, of that sender session (a copy, or a late record, is not counted again). */
  next?: number;
  senderSession?: number;
}

/** Channels without --deliver counted by name, at most this many names (then under '(other)'): a flood of names must not grow the table. */
const MAX_UNDELIVERED_NAMES = 64;

/**
 * The streams stage of the receiver, beside the file pipeline. Input: Stream records of the
 * newest sender session (from FrameIntake). Output: each --deliver channel's datagrams or
 * sessions, in order, to its outlet; records of other channels are counted and dropped.
 */
export class StreamDelivery {
  private readonly channels = new Map<string, { receiver: ChannelReceiver; outlet: OutletCounts }>();
  private readonly undelivered = new Map<string, UndeliveredCounts>();

  constructor(specs: readonly ChannelSpec[], timing: ChannelTiming = DEFAULT_TIMING) {
    for (const spec of specs) {
      const counts: OutletCounts = { deliveryErrors: 0 };
      const outlet: ChannelOutlet = spec.kind === 'file'
        ? new FileOutlet(spec.dir, spec.name, counts)
        : spec.endpoint.scheme === 'udp' ? new UdpOutlet(spec.endpoint, counts, spec.name) : new TcpOutlet(spec.endpoint, counts, spec.name);
      this.channels.set(spec.name, { receiver: new ChannelReceiver(spec.name, outlet, timing), outlet: counts });
    }
    if (this.channels.size > 0) this.loopDelay.enable();
  }

  /** One record of sender session `senderSession`; `raw` is the frame payload it was decoded from (FEC works on it). */
  take(senderSession: number, record: StreamRecord, raw: Buffer): void {
    const channel = this.channels.get(record.channel);
    if (channel) return channel.receiver.take(senderSession, record, raw);
    if (record.kind === StreamKind.Parity) return;
    let name = record.channel;
    if (!this.undelivered.has(name) && this.undelivered.size >= MAX_UNDELIVERED_NAMES) name = '(other)';
    let counts = this.undelivered.get(name);
    if (!counts) {
      this.undelivered.set(name, (counts = { messages: 0, bytes: 0 }));
      log('stream-undelivered', { channel: name, hint: 'no --deliver for this channel: its records are counted and dropped' });
    }
    if (name === record.channel) {
      if (counts.senderSession === senderSession && counts.next !== undefined && record.sequence < counts.next) return;
      counts.senderSession = senderSession;
      counts.next = record.sequence + 1;
    }
    counts.messages++;
    counts.bytes += record.data.length;
  }

  /** How late this process's event loop runs (a stream frame waits that long, behind file frames, before it is handled): the latency breakdown. */
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 1 });

  status(): { channels: Record<string, ChannelStatus>; undelivered: Record<string, UndeliveredCounts>; loopDelayMs?: { p99: number; max: number } } {
    const channels: Record<string, ChannelStatus> = {};
    for (const [name, { receiver, outlet }] of this.channels) {
      channels[name] = { deliver: receiver.outlet.description, ...receiver.counts, ...outlet, latencyMs: receiver.latency.summary(), sinceStartMs: { transit: receiver.transit.summary(), delivery: receiver.delivered.summary() } };
    }
    const d = this.loopDelay;
    const ms = (ns: number) => Math.round(ns / 1e5) / 10;
    return {
      channels, undelivered: Object.fromEntries([...this.undelivered].map(([n, c]) => [n, { messages: c.messages, bytes: c.bytes }])),
      ...(this.channels.size > 0 && d.count > 0 && { loopDelayMs: { p99: ms(d.percentile(99)), max: ms(d.max) } }),
    };
  }

  async stop(): Promise<void> {
    this.loopDelay.disable();
    await Promise.all([...this.channels.values()].map((c) => c.receiver.stop()));
  }
}
