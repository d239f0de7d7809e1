/**
 * A link's rate cap: datagrams leave at most at `bitsPerSecond`; those that arrive faster wait in a
 * queue of `queueBytes`, and what does not fit is dropped (tail drop), as on a real bottleneck.
 */
export class LinkShaper {
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private nextFreeAt = 0;
  private timer: NodeJS.Timeout | undefined;
  dropped = 0;

  constructor(
    private readonly bitsPerSecond: number,
    private readonly queueBytes: number,
    private readonly send: (datagram: Buffer) => void,
  ) {}

  push(datagram: Buffer): void {
    if (this.queuedBytes + datagram.length > this.queueBytes) {
      this.dropped++;
      return;
    }
    this.queue.push(datagram);
    this.queuedBytes += datagram.length;
    this.drain();
  }

  private drain(): void {
    if (this.timer) return;
    for (;;) {
      const next = this.queue[0];
      if (!next) return;
      const now = performance.now();
      if (this.nextFreeAt > now + 1) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.drain();
        }, this.nextFreeAt - now);
        return;
      }
      this.queue.shift();
      this.queuedBytes -= next.length;
      // Time the datagram occupies the link; idle time is not banked beyond now.
      this.nextFreeAt = Math.max(this.nextFreeAt, now) + (next.length * 8 * 1000) / this.bitsPerSecond;
      this.send(next);
    }
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}
