import type { ChannelSpec } from '@diodesync/cli-kit';
import type { FecLayout } from '@diodesync/protocol';
import type { FrameEmitter } from '../framing/frame-emitter.js';
import { log } from '../log.js';
import { ChannelEncoder, type ChannelCounts } from './channel-encoder.js';
import { StreamOutbox } from './stream-outbox.js';
import { listenTcp } from './tcp-forward.js';
import { listenUdp } from './udp-forward.js';

const QUEUE_SECONDS = 0.05;

/** The settings of the pass-through channels (--forward, --forward-rate, --forward-flush, --fec, frame size). */
export interface ForwardOptions {
  channels: ChannelSpec[];
  /** Bits per second the streams may take of the link. */
  forwardRate: number;
  /** A block of a channel is closed (and its parity sent) this long after its first record at the latest. */
  flushMs: number;
  fec: FecLayout;
  /** Largest frame payload (the file chunk size without FEC rounding). */
  maxPayload: number;
  /** Bytes queued for the link beyond which datagrams are dropped and TCP reads pause. */
  queueBytes?: number;
}

/**
 * The streams stage of the sender, beside the file pipeline. Input: the low side's sockets
 * (--forward). Output: Stream frames through the same FrameEmitter as files (sealing, sequence
 * numbers, the same token bucket), ahead of the file frames.
 */
export class StreamForwarder {
  private readonly outbox: StreamOutbox;
  private readonly encoders: ChannelEncoder[];
  private readonly listeners: { close(): Promise<void> }[] = [];
  private readonly reported = new Set<string>();

  constructor(private readonly options: ForwardOptions, emitter: FrameEmitter, failed: (err: Error) => void) {
    // 50 ms of --forward-rate: a block's parity never waits long behind later records (the
    // receiver waits that long for it), and a TCP reader pauses rather than queue more.
    const queueBytes = options.queueBytes ?? Math.max(64 * 1024, (options.forwardRate / 8) * QUEUE_SECONDS);
    this.outbox = new StreamOutbox(emitter, options.forwardRate, queueBytes, failed);
    this.encoders = options.channels.map((c) => new ChannelEncoder(c.name, options.fec, options.flushMs, this.outbox, options.maxPayload));
  }

  /** Opens every channel's socket; the ports bound (port 0 picks one) by channel name. */
  async start(): Promise<Record<string, number>> {
    const ports: Record<string, number> = {};
    for (const [i, spec] of this.options.channels.entries()) {
      const channel = this.encoders[i]!;
      if (spec.kind !== 'endpoint') throw new RangeError(`--forward ${spec.text}: file: is for --deliver`);
      const l = spec.endpoint.scheme === 'udp'
        ? await listenUdp(spec.endpoint, channel, (why) => this.refused(channel, why))
        : await listenTcp(spec.endpoint, channel, this.outbox, {
          opened: (session, peer) => log('stream-session-open', { channel: channel.name, session, peer }),
          closed: (session, bytes) => log('stream-session-closed', { channel: channel.name, session, bytes }),
        });
      this.listeners.push(l);
      ports[channel.name] = l.port;
    }
    return ports;
  }

  counts(): Record<string, ChannelCounts> {
    return Object.fromEntries(this.encoders.map((e) => [e.name, { ...e.counts }]));
  }

  /** Stops listening, closes every open block (its parity goes) and waits until all is handed to the sink. */
  async close(): Promise<void> {
    await Promise.all(this.listeners.map((l) => l.close()));
    await Promise.all(this.encoders.map((e) => e.flush()));
    await this.outbox.drained();
  }

  /** Logged once per channel and reason; the counts keep the numbers. */
  private refused(channel: ChannelEncoder, why: 'too-large' | 'queue-full'): void {
    const key = `${channel.name}/${why}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    log(why === 'too-large' ? 'stream-datagram-too-large' : 'stream-queue-full', {
      channel: channel.name, maxBytes: why === 'too-large' ? channel.maxData : undefined,
      hint: why === 'too-large' ? 'raise --mtu (jumbo frames) to carry larger datagrams' : 'the input outruns --forward-rate: datagrams are dropped (counted)',
    });
  }
}
