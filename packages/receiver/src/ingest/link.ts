import type { DropReason, Frame, Heartbeat } from '@diodesync/protocol';
import type { Endpoint, NamedLink } from '@diodesync/cli-kit';
import type { TransportCounters } from '../counters.js';
import type { IntakeLink } from './frame-intake.js';
import { LinkSequence } from './link-sequence.js';
import type { SourceSink } from './open-source.js';

/** What one link counts; the receiver's counters keep the totals. */
export interface LinkCounters extends TransportCounters {
  /** Frames this link brought that had already arrived (by another link, mostly): not used again. */
  duplicateFrames: number;
  heartbeats: number;
}

/** Where a link hands what it reads: the receiver, which knows which link it came by. */
export interface LinkReceiver {
  readonly counters: TransportCounters;
  handleDatagram(datagram: Buffer, link?: IntakeLink): void;
  handleFrame(frame: Frame, link?: IntakeLink): void;
}

/**
 * One `--listen` (of one or several): the sink its transport delivers to. It counts what it
 * carries on its own, passes the frames on marked as its own (the intake uses each once, whichever
 * link brought it first), estimates its own losses and sees its own heartbeats (for its watchdog).
 */
export class Link implements SourceSink, IntakeLink {
  readonly stats: LinkCounters = {
    framesReceived: 0, bytesReceived: 0, bytesSkipped: 0, queueOverflow: 0, duplicateFrames: 0, heartbeats: 0,
    framing: { short: 0, magic: 0, 'header-crc': 0, version: 0, type: 0, length: 0, 'payload-crc': 0 },
    capture: { fragments: 0, truncated: 0, ignored: 0, kernelDropped: 0 },
  };
  /** What the transport writes: counted on this link and in the receiver's totals. */
  readonly counters: TransportCounters;
  readonly sequences = new LinkSequence();
  lastHeartbeat = 0;

  constructor(
    readonly spec: NamedLink<Endpoint>,
    private readonly receiver: LinkReceiver,
    private readonly onHeartbeat?: (sessionId: number, heartbeat: Heartbeat) => void,
  ) {
    this.counters = teeCounters(this.stats, receiver.counters);
  }

  get name(): string {
    return this.spec.name;
  }

  /** The intake counts the totals of a datagram (and a bad one on this link too). */
  handleDatagram(datagram: Buffer): void {
    this.stats.framesReceived++;
    this.stats.bytesReceived += datagram.length;
    this.receiver.handleDatagram(datagram, this);
  }

  handleFrame(frame: Frame): void {
    this.receiver.handleFrame(frame, this);
  }

  observe(sessionId: number, sequence: number, heartbeat: boolean): void {
    this.sequences.observe(sessionId, sequence, heartbeat);
  }

  heartbeat(sessionId: number, heartbeat: Heartbeat): void {
    this.stats.heartbeats++;
    this.lastHeartbeat = Date.now();
    this.onHeartbeat?.(sessionId, heartbeat);
  }
}

/** Counters whose every increment lands in both `own` and `total` (transports only ever add). */
function teeCounters(own: TransportCounters, total: TransportCounters): TransportCounters {
  const tee = teeNumbers(own, total, ['framesReceived', 'bytesReceived', 'bytesSkipped', 'queueOverflow']) as TransportCounters;
  Object.defineProperty(tee, 'framing', { enumerable: true, value: teeNumbers(own.framing, total.framing, Object.keys(own.framing) as DropReason[]) });
  Object.defineProperty(tee, 'capture', { enumerable: true, value: teeNumbers(own.capture, total.capture, Object.keys(own.capture) as (keyof TransportCounters['capture'])[]) });
  return tee;
}

/** An object whose `keys` read `own` and, when set, add the difference to `total` as well. */
function teeNumbers<K extends string>(own: Record<K, number>, total: Record<K, number>, keys: readonly K[]): Record<K, number> {
  const tee = {} as Record<K, number>;
  for (const key of keys) {
    Object.defineProperty(tee, key, {
      enumerable: true,
      get: () => own[key],
      set: (value: number) => {
        total[key] += value - own[key];
        own[key] = value;
      },
    });
  }
  return tee;
}
