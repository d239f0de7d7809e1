import { hostname } from 'node:os';
import { FrameType, encodeHeartbeat, type Heartbeat } from '@diodesync/protocol';
import type { FrameEmitter } from './framing/frame-emitter.js';

/** The sender's progress as a heartbeat reports it, read at each beat. */
export interface HeartbeatCounters {
  filesSent: number;
  queueDepth: number;
  pass: number;
  passes: number;
  nextPassAt: number;
}

/**
 * Tells the receiver who is sending and how far it got, on a timer of its own: every
 * --heartbeat, whatever the sender is doing (hashing a big file, sleeping). Input: the counters
 * at each beat; output: heartbeat frames.
 */
export class HeartbeatTimer {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly emitter: FrameEmitter,
    private readonly intervalMs: number,
    /** This session's start (ms), later than any earlier session's: receivers follow the latest. */
    private readonly startedAt: number,
    private readonly counters: () => HeartbeatCounters,
  ) {}

  message(): Heartbeat {
    const { sessionId, framesSent, bytesSent } = this.emitter;
    const { filesSent, queueDepth, pass, passes, nextPassAt } = this.counters();
    return {
      sessionId, host: hostname(), startedAt: this.startedAt, sentAt: Date.now(), intervalMs: this.intervalMs,
      framesSent, bytesSent, filesSent, queueDepth, pass, passes, nextPassAt,
    };
  }

  async send(): Promise<void> {
    await this.emitter.emit({ type: FrameType.Heartbeat }, encodeHeartbeat(this.message()));
  }

  /** One beat now, then one every interval until stop(); the timer does not keep the process alive. */
  start(): void {
    void this.send();
    this.timer = setInterval(() => void this.send().catch(() => undefined), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
