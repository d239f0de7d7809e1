import { encodeHeaderAs, type FrameFields } from '@diodesync/protocol';
import type { TokenBucket } from './rate-limiter.js';
import type { FrameSink } from './transport.js';

export type EmitFields = Omit<FrameFields, 'sessionId' | 'sequence'>;

/** Stamps session and sequence on each frame, paces it through the rate limiter, hands it to the sink. */
export class FrameEmitter {
  private sequence = 0;
  framesSent = 0;
  bytesSent = 0;

  constructor(
    readonly sessionId: number,
    private readonly sink: FrameSink,
    private readonly limiter: TokenBucket,
  ) {}

  emit(fields: EmitFields, payload: Buffer): Promise<void> | undefined {
    const header = encodeHeaderAs(fields, this.sessionId, this.sequence++, payload);
    const bytes = header.length + payload.length;
    this.framesSent++;
    this.bytesSent += bytes;
    const wait = this.limiter.take(bytes);
    if (wait) return wait.then(() => this.sink.send([header, payload]));
    return this.sink.send([header, payload]);
  }

  flush(): Promise<void> {
    return this.sink.flush();
  }
}
