import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { ChannelSpec } from '@diodesync/cli-kit';
import type { FecLayout } from '@diodesync/protocol';
import type { FrameEmitter } from '../framing/frame-emitter.js';
import { log } from '../log.js';
import { ChannelEncoder, NO_COPIES, type ChannelCounts, type CopyPolicy } from './channel-encoder.js';
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
  /** --forward-copies: records of quiet channels sent more than once. */
  copies?: CopyPolicy;
}

/** A channel's counts at the end, with how long its records waited in the outbox and how late this process's event loop ran (ms). */
export interface ChannelSummary extends ChannelCounts {
  outboxWaitP50Ms: number;
  outboxWaitP99Ms: number;
  outboxWaitMaxMs: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
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
  /** How late the event loop runs: a datagram waits that long in the socket before it is read (latency breakdown). */
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 1 });

  constructor(private readonly options: ForwardOptions, emitter: FrameEmitter, failed: (err: Error) => void) {
    // 50 ms of --forward-rate: a block's parity never waits long behind later records (the
    // receiver waits that long for it), and a TCP reader pauses rather than queue more.
    const queueBytes = options.queueBytes ?? Math.max(64 * 1024, (options.forwardRate / 8) * QUEUE_SECONDS);
    this.outbox = new StreamOutbox(emitter, options.forwardRate, queueBytes, failed);
    this.encoders = options.channels.map((c) => new ChannelEncoder(c.name, options.fec, options.flushMs, this.outbox, options.maxPayload, options.copies ?? NO_COPIES));
  }

  /** Opens every channel's socket; the ports bound (port 0 picks one) by channel name. */
  async start(): Promise<Record<string, number>> {
    this.loopDelay.enable();
    const ports: Record<string, number> = {};
    for (const [i, spec] of this.options.channels.entries()) {
      const channel = this.encoders[i]!;
      if (spec.kind !== 'endpoint') throw new RangeError(`--forward ${spec.text}: file: is for --deliver`);
      const l = spec.endpoint.scheme === 'udp'
        ? await listenUdp(spec.endpoint, channel, () => this.refused(channel))
        : await listenTcp(spec.endpoint, channel, this.outbox, {
          opened: (session, peer) => log('stream-session-open', { channel: channel.name, session, peer }),
          closed: (session, bytes) => log('stream-session-closed', { channel: channel.name, session, bytes }),
        });
      this.listeners.push(l);
      ports[channel.name] = l.port;
    }
    return ports;
  }

  counts(): Record<string, ChannelSummary> {
    const ms = (ns: number) => Math.round(ns / 1e5) / 10;
    const d = this.loopDelay;
    const wait = this.outbox.waited.summary();
    const timing = {
      outboxWaitP50Ms: wait.p50, outboxWaitP99Ms: wait.p99, outboxWaitMaxMs: wait.max,
      loopDelayP99Ms: d.count > 0 ? ms(d.percentile(99)) : 0, loopDelayMaxMs: d.count > 0 ? ms(d.max) : 0,
    };
    return Object.fromEntries(this.encoders.map((e) => [e.name, { ...e.counts, ...timing }]));
  }

  /** Stops listening, closes every open block (its parity goes) and waits until all is handed to the sink. */
  async close(): Promise<void> {
    this.loopDelay.disable();
    await Promise.all(this.listeners.map((l) => l.close()));
    await Promise.all(this.encoders.map((e) => e.flush()));
    await this.outbox.drained();
  }

  /** Logged once per channel; the counts keep the numbers. */
  private refused(channel: ChannelEncoder): void {
    if (this.reported.has(channel.name)) return;
    this.reported.add(channel.name);
    log('stream-queue-full', { channel: channel.name, hint: 'the input outruns --forward-rate: datagrams are dropped (counted)' });
  }
}
