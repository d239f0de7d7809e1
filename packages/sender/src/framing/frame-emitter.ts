import { encodeHeaderAs, sealFrame, type FrameAuthenticator, type FrameFields } from '@diodesync/protocol';
import type { TokenBucket } from '../transport/rate-limiter.js';
import type { FrameSink } from '../transport/frame-sink.js';

export type EmitFields = Omit<FrameFields, 'sessionId' | 'sequence'>;

/** With --key-file: every frame is tagged, and with --encrypt its payload is encrypted. */
export interface FrameSealing {
  auth: FrameAuthenticator;
  encrypt: boolean;
}

/** Stamps session and sequence on each frame, seals it, paces it through the rate limiter, hands it to the sink. */
export class FrameEmitter {
  private sequence = 0;
  framesSent = 0;
  bytesSent = 0;

  constructor(
    readonly sessionId: number,
    private readonly sink: FrameSink,
    private readonly limiter: TokenBucket,
    private readonly sealing?: FrameSealing,
  ) {}

  emit(fields: EmitFields, payload: Buffer): Promise<void> | undefined {
    // Unsealed frames take the fast path: no copy of the fields, no tag.
    const pieces = this.sealing
      ? sealFrame({ ...fields, sessionId: this.sessionId, sequence: this.sequence++ }, payload, this.sealing.auth, this.sealing.encrypt)
      : [encodeHeaderAs(fields, this.sessionId, this.sequence++, payload), payload];
    const bytes = pieces.reduce((n, p) => n + p.length, 0);
    this.framesSent++;
    this.bytesSent += bytes;
    const wait = this.limiter.take(bytes);
    if (!wait) return this.sink.send(pieces);
    // What is batched goes before we wait: a batch is never a bigger burst than the limiter allows.
    const sent = this.sink.submit?.();
    return (sent ? Promise.all([wait, sent]) : wait).then(() => this.sink.send(pieces));
  }

  /**
   * A pass-through stream frame (streams/): it goes now, ahead of file frames waiting for the
   * rate limiter, and the bytes it took are paid by the frames after it, so the average rate
   * stays exact. `submit`: the last of a burst, so a batching sink sends what it holds now.
   */
  emitNow(fields: EmitFields, payload: Buffer, submit: boolean): Promise<void> | undefined {
    const pieces = this.sealing
      ? sealFrame({ ...fields, sessionId: this.sessionId, sequence: this.sequence++ }, payload, this.sealing.auth, this.sealing.encrypt)
      : [encodeHeaderAs(fields, this.sessionId, this.sequence++, payload), payload];
    const bytes = pieces.reduce((n, p) => n + p.length, 0);
    this.framesSent++;
    this.bytesSent += bytes;
    this.limiter.charge(bytes);
    const sent = this.sink.send(pieces);
    const submitted = submit ? this.sink.submit?.() : undefined;
    return sent && submitted ? Promise.all([sent, submitted]).then(() => undefined) : sent ?? submitted;
  }

  flush(): Promise<void> {
    return this.sink.flush();
  }
}
