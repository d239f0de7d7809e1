/**
 * Runs at most `limit` tasks at once; the others wait their turn in the order they came, holding
 * nothing but their place in the line. Complete objects go through verification and placement this
 * way: all started at once, 6,500 small files each had a chain of file-system calls queued in
 * libuv's thread pool (promises, stat arrays, contexts: about 18 KB apiece), and each waited
 * behind all the others' calls, so none finished early.
 */
export class FifoGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running < this.limit) this.running++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      // The slot passes straight to the next in line, if any.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  /** Tasks waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }
}
