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
}

/** A channel that arrives without a --deliver: counted, dropped. */
export interface UndeliveredCounts {
  messages: number;
  bytes: number;
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
    counts.messages++;
    counts.bytes += record.data.length;
  }

  status(): { channels: Record<string, ChannelStatus>; undelivered: Record<string, UndeliveredCounts> } {
    const channels: Record<string, ChannelStatus> = {};
    for (const [name, { receiver, outlet }] of this.channels) {
      channels[name] = { deliver: receiver.outlet.description, ...receiver.counts, ...outlet, latencyMs: receiver.latency.summary() };
    }
    return { channels, undelivered: Object.fromEntries([...this.undelivered].map(([n, c]) => [n, { ...c }])) };
  }

  async stop(): Promise<void> {
    await Promise.all([...this.channels.values()].map((c) => c.receiver.stop()));
  }
}
