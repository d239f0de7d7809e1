import type { FrameEmitter } from './frame-emitter.js';
import { Interleaver, SendStopped } from './interleaver.js';
import type { FramingOptions } from './options.js';

/**
 * Objects reach the interleaver only inside a pass: the due files of a cycle, or a manifest.
 * The invariant: a pass ends with the interleaver empty, so nothing waits in it while the sender
 * sleeps, and every send is recorded (`afterPass`) before a manifest lists it. Input: a function
 * that hands objects to the interleaver; output: their frames, all of them on their way to the sink.
 */
export class ObjectPasses {
  private readonly interleaver: Interleaver;

  constructor(
    emitter: FrameEmitter,
    options: FramingOptions,
    signal: AbortSignal,
    /** Runs at the end of every pass, stopped or not: sends that reached the wire are recorded. */
    private readonly afterPass: () => void,
  ) {
    // Without parity there is nothing to spread: frames go out in order.
    this.interleaver = new Interleaver(emitter, options.fec.k > 0 ? options.interleave : 1, signal);
  }

  /** Runs `send`, then sends the blocks the interleaver still holds. */
  async run<T>(send: (out: Interleaver) => Promise<T>): Promise<T> {
    const result = await send(this.interleaver);
    await this.end();
    return result;
  }

  /** Sends the blocks the interleaver still holds: nothing may wait in it while we sleep. */
  private async end(): Promise<void> {
    try {
      await this.interleaver.flush();
    } catch (err) {
      if (!(err instanceof SendStopped)) throw err;
      this.interleaver.discard();
    } finally {
      this.afterPass();
    }
  }
}
