/** Where frames go. `send` returns a promise only when the caller must wait (back-pressure). */
export interface FrameSink {
  readonly description: string;
  send(parts: readonly Buffer[]): Promise<void> | undefined;
  /** Waits until everything handed to `send` has left. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** The link itself failed (not one file): the run cannot go on. */
export class TransportError extends Error {
  override name = 'TransportError';
}
