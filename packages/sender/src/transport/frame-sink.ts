/** Where frames go. `send` returns a promise only when the caller must wait (back-pressure). */
export interface FrameSink {
  readonly description: string;
  /** UDP: the path datagrams take (gso, mmsg, dgram) and why; absent on byte streams. */
  readonly io?: { readonly mode: string; readonly reason: string };
  send(parts: readonly Buffer[]): Promise<void> | undefined;
  /**
   * Batching sinks: room for one frame of `length` bytes at `batch[offset]` (the offset is
   * returned; a full batch is sent first). The caller writes the frame there and calls `commit`
   * before it yields, so no frame is copied twice nor allocated on its own.
   */
  reserve?(length: number): number;
  /** The buffer `reserve` hands out room in (valid until the next `reserve`). */
  readonly batch?: Buffer;
  /** The reserved frame is written: it joins the batch. A promise when the caller must wait. */
  commit?(): Promise<void> | undefined;
  /** Sends what a batching sink holds now (the rate limiter is about to wait: no frame waits with it). */
  submit?(): Promise<void> | undefined;
  /** Batching sinks: the bytes of the frames in the batch, not sent yet. */
  readonly held?: number;
  /**
   * Batching sinks: called with the batch's bytes just before it is sent (set by the emitter, so
   * that the rate limiter counts them as leaving then, not when they were written: see TokenBucket).
   */
  onSubmit?: ((bytes: number) => void) | undefined;
  /** Waits until everything handed to `send` has left. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** The link itself failed (not one file): the run cannot go on. */
export class TransportError extends Error {
  override name = 'TransportError';
}
