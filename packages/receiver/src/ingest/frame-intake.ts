import {
  FLAG_ENCRYPTED, FrameType, ProtocolError, decodeChange, decodeDatagram, decodeHeartbeat, decodeObjectHeader, openFrame,
  type Change, type Frame, type FrameAuthenticator, type Heartbeat, type ObjectHeader,
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
 * are estimated from the sequence numbers of the frames that pass.
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
  datagram(datagram: Buffer): void {
    this.counters.framesReceived++;
    this.counters.bytesReceived += datagram.length;
    const result = decodeDatagram(datagram);
    if (result.ok) this.frame(result.frame);
    else this.counters.framing[result.reason]++;
  }

  frame(wire: Frame): void {
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
    this.sequences.observe(frame.header.sessionId, frame.header.sequence);
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
        this.messages.heartbeat?.(frame.header.sessionId, heartbeat);
        return;
      }
      case FrameType.Change: {
        if (!this.messages.change) break;
        const change = this.decode(decodeChange, frame.payload);
        if (change) this.messages.change(change);
        return;
      }
    }
    this.counters.unsupported++;
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
