import type { FrameEmitter } from '../framing/frame-emitter.js';
import { HeartbeatTimer } from '../heartbeat.js';
import type { StreamForwarder } from './stream-forwarder.js';

/**
 * A sender with --forward and no source directory: no ledger, no file passes, only the channels
 * and the heartbeats (the receiver follows the newest sender session by them, and its link
 * watchdog listens). Runs until `stop` is aborted or a channel's link fails; then the channels
 * close (their last blocks' parity goes) before it resolves.
 */
export async function runForwardOnly(emitter: FrameEmitter, forwarder: StreamForwarder, heartbeatMs: number, startedAt: number, stop: AbortSignal): Promise<void> {
  const heartbeats = new HeartbeatTimer(emitter, heartbeatMs, startedAt, () => ({ filesSent: 0, queueDepth: 0, pass: 0, passes: 0, nextPassAt: 0 }));
  heartbeats.start();
  try {
    if (!stop.aborted) await new Promise<void>((resolve) => stop.addEventListener('abort', () => resolve(), { once: true }));
  } finally {
    heartbeats.stop();
    await forwarder.close();
  }
}
