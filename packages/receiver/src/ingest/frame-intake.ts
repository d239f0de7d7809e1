import {
  type DropReason, FLAG_ENCRYPTED, FrameType, ProtocolError, decodeChange, decodeDatagram, decodeHeartbeat, decodeObjectHeader, decodeStreamRecord, openFrame,
  type Change, type Frame, type FrameAuthenticator, type Heartbeat, type ObjectHeader, type StreamRecord,
} from '@diodesync/protocol';
import type { ReceiverCounters } from '../counters.js';
import { log } from '../log.js';
import { SequenceTracker } from './sequence-tracker.js';
import { SessionOrder, startedAtText } from './session-order.js';

/** Where object headers, data and parity go (the assembly stage). */
export interface ObjectFrames {
  /** A copy of an object header that is already known need not be decoded again. */
  knowsHeader(frame: Frame): boolean;
  objectHeader(frame: Frame, header: ObjectHeader): void;
  data(frame: Frame): void;
  parity(frame: Frame): void;
}

/** Where the other messages go. */
export interface MessageHandlers {
  /** Each valid heartbeat of the newest sender session (the link watchdog listens). */
  heartbeat?: ((sessionId: number, heartbeat: Heartbeat) => void) | undefined;
  /** Deletes and renames; without it they are counted as unsupported. */
  change?: ((change: Change) => void) | undefined;
  /** Pass-through stream records (streams/), with the sender session and the payload they were decoded from. */
  stream?: ((senderSession: number, record: StreamRecord, raw: Buffer) => void) | undefined;
}

/** The link a frame came by, when there are several (ingest/link.ts): its own counts, losses and heartbeats. */
export interface IntakeLink {
  readonly stats: { framing: Record<DropReason, number>; duplicateFrames: number };
  observe(sessionId: number, sequence: number, heartbeat: boolean): void;
  heartbeat(sessionId: number, heartbeat: Heartbeat): void;
}

export interface IntakeSettings {
  /** --key-file (twice during a rotation): every frame must carry a tag one of these keys verifies. */
  keys?: readonly FrameAuthenticator[] | undefined;
  /** --encrypt: frames that are only authenticated are refused too. */
  requireEncryption?: boolean | undefined;
}

/**
 * The first stage after the transport. Input: datagrams (one superframe each) or frames a
 * stream deframer cut. Output: authenticated frames of the newest sender session, with their
 * payloads decoded (each once, here), to `ObjectFrames` and `MessageHandlers`. Everything refused on the way is counted here: framing,
 * authentication, stale sessions, bad messages, unsupported types; and frames lost on the link
 * are estimated from the sequence numbers of the frames that pass. A frame that comes by a link
 * (ingest/link.ts) and had already arrived, by another link or twice by this one, is used once.
 */
export class FrameIntake {
  readonly sequences = new SequenceTracker();
  /** The newest sender session: frames of older ones (a replay) are dropped (session-order.ts). */
  readonly sessions = new SessionOrder({
    older: (s) => this.sequences.forget(s.sessionId),
    stale: (s, newest) => log('stale-session', {
      session: s.sessionId.toString(16), startedAt: startedAtText(s), newest: newest.sessionId.toString(16), newestStartedAt: startedAtText(newest),
    }),
  });

  constructor(
    private readonly counters: ReceiverCounters,
    private readonly settings: IntakeSettings,
    private readonly objects: ObjectFrames,
    private readonly messages: MessageHandlers = {},
  ) {}

  /** One datagram = one superframe. */
  datagram(datagram: Buffer, link?: IntakeLink): void {
    this.counters.framesReceived++;
    this.counters.bytesReceived += datagram.length;
    const result = decodeDatagram(datagram);
    if (result.ok) return this.frame(result.frame, link);
    this.counters.framing[result.reason]++;
    if (link) link.stats.framing[result.reason]++;
  }

  frame(wire: Frame, link?: IntakeLink): void {
    let frame = this.authenticate(wire);
    if (!frame) return;
    // Messages (headers, heartbeats, changes: few) get a payload of their own before anything decodes
    // them: msgpackr refuses a view of shared memory (a UDP receive slot, udp-ring.ts), and hands out
    // binary fields (hashes, paths) as views into its input, which must outlive the slot.
    const { type } = frame.header;
    if (type !== FrameType.Data && type !== FrameType.Parity) frame = { header: frame.header, payload: Buffer.from(frame.payload) };
    if (!this.sessions.admit(frame)) {
      this.counters.staleSession++;
      return;
    }
    // Only now, authenticated and of the followed session, may a number mark a frame as arrived:
    // a forged copy must not stop the real frame.
    const first = this.sequences.observe(frame.header.sessionId, frame.header.sequence);
    link?.observe(frame.header.sessionId, frame.header.sequence, frame.header.type === FrameType.Heartbeat);
    // Frames fed without a link (tests, tools) go on as they come: the assembly drops chunks it has.
    if (!first && link) return this.copy(frame, link);
    switch (frame.header.type) {
      case FrameType.ObjectHeader: {
        if (this.objects.knowsHeader(frame)) return;
        const header = this.decode(decodeObjectHeader, frame.payload);
        if (header) this.objects.objectHeader(frame, header);
        return;
      }
      case FrameType.Data:
        return this.objects.data(frame);
      case FrameType.Parity:
        return this.objects.parity(frame);
      case FrameType.Heartbeat: {
        const heartbeat = this.decode(decodeHeartbeat, frame.payload);
        if (!heartbeat) return;
        this.counters.heartbeats++;
        link?.heartbeat(frame.header.sessionId, heartbeat);
        this.messages.heartbeat?.(frame.header.sessionId, heartbeat);
        return;
      }
      case FrameType.Change: {
        if (!this.messages.change) break;
        const change = this.decode(decodeChange, frame.payload);
        if (change) this.messages.change(change);
        return;
      }
      case FrameType.Stream: {
        if (!this.messages.stream) break;
        const record = this.decode(decodeStreamRecord, frame.payload);
        if (record) this.messages.stream(frame.header.sessionId, record, frame.payload);
        return;
      }
    }
    this.counters.unsupported++;
  }

  /**
   * A frame that arrived already, by another link (two diodes side by side) or twice by one: used
   * once. Its heartbeat still tells this link's watchdog that the link lives.
   */
  private copy(frame: Frame, link: IntakeLink): void {
    this.counters.duplicateFrames++;
    link.stats.duplicateFrames++;
    if (frame.header.type !== FrameType.Heartbeat) return;
    const heartbeat = this.decode(decodeHeartbeat, frame.payload);
    if (heartbeat) link.heartbeat(frame.header.sessionId, heartbeat);
  }

  /** With a key: the frame if its tag verifies (decrypted if need be), checked before anything reads its payload. */
  private authenticate(frame: Frame): Frame | undefined {
    const { keys } = this.settings;
    if (!keys?.length) {
      if (!(frame.header.flags & FLAG_ENCRYPTED)) return frame;
      this.counters.auth['no-key']++;
      return undefined;
    }
    const opened = openFrame(frame, keys, this.settings.requireEncryption);
    if (opened.ok) return opened.frame;
    this.counters.auth[opened.reason]++;
    return undefined;
  }

  /** A payload that does not decode is counted as a bad message, never thrown further. */
  private decode<T>(decode: (payload: Buffer) => T, payload: Buffer): T | undefined {
    try {
      return decode(payload);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.counters.badMessage++;
      return undefined;
    }
  }
}
