import { HEADER_SIZE, encodeHeaderAs, sealFrame, writeFrameAs, type FrameAuthenticator, type FrameFields } from '@diodesync/protocol';
import type { TokenBucket } from '../transport/rate-limiter.js';
import type { FrameSink } from '../transport/frame-sink.js';

export type EmitFields = Omit<FrameFields, 'sessionId' | 'sequence'>;

/** With --key-file: every frame is tagged, and with --encrypt its payload is encrypted. */
export interface FrameSealing {
  auth: FrameAuthenticator;
  encrypt: boolean;
}

const nothing = (): void => undefined;

/**
 * Stamps session and sequence on each frame, seals it, paces it through the rate limiter, hands
 * it to the sink. Unsealed frames are written straight into a batching sink's buffer (header,
 * payload copy, CRCs: no allocation, promise or closure per frame), and the token bucket is asked
 * once per grant of tokens, not per frame (`credit`).
 */
export class FrameEmitter {
  private sequence = 0;
  /** Bytes the token bucket granted that no frame has spent yet (TokenBucket.takeAll). */
  private credit = 0;
  framesSent = 0;
  bytesSent = 0;

  constructor(
    readonly sessionId: number,
    private readonly sink: FrameSink,
    private readonly limiter: TokenBucket,
    private readonly sealing?: FrameSealing,
  ) {
    // A batching sink's frames leave when it submits, after their tokens were taken: the limiter learns when.
    if (sink.held !== undefined) sink.onSubmit = (bytes) => limiter.sending(bytes + this.credit);
  }

  emit(fields: EmitFields, payload: Buffer): Promise<void> | undefined {
    if (this.sealing) return this.emitSealed(fields, payload, this.sealing);
    const length = HEADER_SIZE + payload.length;
    this.framesSent++;
    this.bytesSent += length;
    const wait = this.pace(length);
    // The sequence number is taken when the frame is written, so the wire is in sequence order
    // even when a heartbeat goes while a frame waits for tokens.
    if (!wait) return this.write(fields, payload, length);
    return wait.then(() => this.write(fields, payload, length));
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

  private emitSealed(fields: EmitFields, payload: Buffer, sealing: FrameSealing): Promise<void> | undefined {
    const pieces = sealFrame({ ...fields, sessionId: this.sessionId, sequence: this.sequence++ }, payload, sealing.auth, sealing.encrypt);
    const bytes = pieces.reduce((n, p) => n + p.length, 0);
    this.framesSent++;
    this.bytesSent += bytes;
    const wait = this.pace(bytes);
    if (!wait) return this.sink.send(pieces);
    return wait.then(() => this.sink.send(pieces));
  }

  /** Undefined when `length` bytes may go now; else what to wait for. */
  private pace(length: number): Promise<void> | undefined {
    if (this.credit < length) this.credit = this.limiter.takeAll(this.credit, this.sink.held);
    if (this.credit >= length) {
      this.credit -= length;
      return undefined;
    }
    const wait = this.limiter.take(length - this.credit, this.sink.held);
    this.credit = 0;
    // What is batched goes before we wait: a batch is never a bigger burst than the limiter allows.
    const sent = this.sink.submit?.();
    if (!wait) return sent;
    return sent ? Promise.all([wait, sent]).then(nothing) : wait;
  }

  private write(fields: EmitFields, payload: Buffer, length: number): Promise<void> | undefined {
    const sink = this.sink;
    if (!sink.reserve || !sink.commit) return sink.send([encodeHeaderAs(fields, this.sessionId, this.sequence++, payload), payload]);
    const at = sink.reserve(length);
    writeFrameAs(sink.batch!, at, fields, this.sessionId, this.sequence++, payload);
    return sink.commit();
  }
}
