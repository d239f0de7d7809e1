import { FrameType, ProtocolError, decodeHeartbeat, type Frame } from '@diodesync/protocol';

/** Start times remembered; a flood of forged session ids (possible only without a key) must not grow the table. */
const MAX_KNOWN = 64;

export interface KnownSession {
  sessionId: number;
  /** The sender's clock when that session started (ms since epoch), from its heartbeats. */
  startedAt: number;
}

/**
 * Which sender session the receiver follows: the newest. Frames of other sessions are stale
 * (a replay of an older run, recorded on the link) and are dropped before they touch anything.
 *
 * The order comes from the heartbeat's `startedAt`, which is authenticated like the rest of the
 * frame; the session id is random per sender start (32 bits) and carries no order. Start times
 * are compared with each other only, never with the receiver's clock (the two clocks may differ).
 * Equal start times (two senders started in the same millisecond: not a supported setup, one
 * sender per receiver) are ordered by session id, so the receiver never flips between them.
 *
 * - Nothing known yet (no heartbeat since the receiver started): every frame is taken, as before.
 *   A receiver started after the sender may see data before the first heartbeat.
 * - The newest session known: its frames are taken. A heartbeat of a session that started later
 *   makes that one the newest (a real sender restart).
 * - A session known to have started earlier than the newest: stale, dropped.
 * - A session whose start time is not known yet, once a newest one is: dropped until its heartbeat
 *   says whether it is newer. A replay may leave out the heartbeats (the frame type is in clear), and
 *   its older file versions must never replace good files. A real restart sends a heartbeat first;
 *   only if that one frame is lost does the new session lose the frames up to its next heartbeat
 *   (--heartbeat, 5 s by default), which later passes resend like any other loss.
 *
 * A sender whose clock went back before it restarted looks exactly like a replay: it is logged as
 * stale (with both start times) and, as its heartbeats do not count, the link goes down; restarting
 * the receiver forgets the start times. Without a key anyone can forge anything, this order included.
 */
export class SessionOrder {
  /** Start times by session id, in the order learnt, and whether a stale frame of the session was reported. */
  private readonly known = new Map<number, { startedAt: number; reported: boolean }>();
  private newestSession: KnownSession | undefined;

  constructor(private readonly on: {
    /** A session is older than the newest one already when its start time arrives (its frames so far were a replay). */
    older?: (session: KnownSession) => void;
    /** The first frame of a session known to be older is dropped (once per session). */
    stale?: (session: KnownSession, newest: KnownSession) => void;
  } = {}) {}

  get newest(): KnownSession | undefined {
    return this.newestSession;
  }

  /** Whether to take an authenticated frame; learns the start time of its session from a heartbeat. */
  admit(frame: Frame): boolean {
    const { sessionId } = frame.header;
    if (frame.header.type === FrameType.Heartbeat && sessionId !== this.newestSession?.sessionId && !this.known.has(sessionId)) {
      const startedAt = startTime(frame.payload);
      if (startedAt !== undefined) this.learn({ sessionId, startedAt });
    }
    const newest = this.newestSession;
    if (newest === undefined || newest.sessionId === sessionId) return true;
    const older = this.known.get(sessionId);
    if (older && !older.reported) {
      older.reported = true;
      this.on.stale?.({ sessionId, startedAt: older.startedAt }, newest);
    }
    return false;
  }

  private learn(session: KnownSession): void {
    if (this.known.size >= MAX_KNOWN) this.known.delete(this.known.keys().next().value!);
    this.known.set(session.sessionId, { startedAt: session.startedAt, reported: false });
    const newest = this.newestSession;
    if (newest === undefined || isLater(session, newest)) this.newestSession = session;
    else this.on.older?.(session);
  }
}

/** For the log: ISO time, or the raw number if it is none (any finite number decodes). */
export function startedAtText(s: KnownSession): string {
  return Math.abs(s.startedAt) <= 8.64e15 ? new Date(s.startedAt).toISOString() : String(s.startedAt);
}

function isLater(a: KnownSession, b: KnownSession): boolean {
  return a.startedAt > b.startedAt || (a.startedAt === b.startedAt && a.sessionId > b.sessionId);
}

/** A heartbeat that does not decode is left to the receiver, which counts it as a bad message. */
function startTime(payload: Buffer): number | undefined {
  try {
    return decodeHeartbeat(payload).startedAt;
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    return undefined;
  }
}
