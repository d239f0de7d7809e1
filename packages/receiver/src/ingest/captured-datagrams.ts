import { frameLength, readHeader } from '@diodesync/protocol';
import type { ReceiverCounters } from '../counters.js';
import { decodeLinkFrame } from './link-frames.js';

/**
 * From captured packets (capture://, pcap:) to the datagrams the receiver takes: each packet is
 * unwrapped down to UDP (link-frames.ts) whatever its destination MAC and IP, kept when it goes
 * to `port` (any port when undefined), and handed on; fragments, packets cut short and other
 * traffic are counted. A UDP segmentation offload super-packet (seen by a capture on the
 * sending host or on a veth before the kernel splits it) holds several frames back to back:
 * it is split where each frame's checked header says it ends.
 */
export class CapturedDatagrams {
  private fragmentLogged = false;

  constructor(
    private readonly port: number | undefined,
    private readonly counters: Pick<ReceiverCounters, 'capture'>,
    /** Given a view into the packet: copied by whoever keeps it. */
    private readonly deliver: (datagram: Buffer) => void,
    /** Called once, at the first fragment: the sender's --mtu is over the link's. */
    private readonly onFirstFragment: () => void,
  ) {}

  packet(linkType: number, data: Buffer): void {
    const decoded = decodeLinkFrame(linkType, data);
    switch (decoded.kind) {
      case 'udp':
        if (this.port !== undefined && decoded.port !== this.port) this.counters.capture.ignored++;
        else this.datagrams(decoded.payload);
        return;
      case 'fragment':
        this.counters.capture.fragments++;
        if (!this.fragmentLogged) {
          this.fragmentLogged = true;
          this.onFirstFragment();
        }
        return;
      case 'truncated':
        this.counters.capture.truncated++;
        return;
      case 'ignored':
        this.counters.capture.ignored++;
    }
  }

  private datagrams(payload: Buffer): void {
    // Any port: other UDP traffic in the capture (DNS, say) is not ours, and no framing error.
    if (this.port === undefined) {
      const first = readHeader(payload, 0);
      if (!first.ok && (first.reason === 'magic' || first.reason === 'short')) {
        this.counters.capture.ignored++;
        return;
      }
    }
    let at = 0;
    for (;;) {
      const head = readHeader(payload, at);
      const length = head.ok ? frameLength(head.header) : 0;
      // One frame to the end (the usual case), or a header that does not check: the rest goes
      // on as one datagram, and the intake counts it if it is no frame.
      if (!head.ok || at + length >= payload.length) {
        this.deliver(payload.subarray(at));
        return;
      }
      this.deliver(payload.subarray(at, at + length));
      at += length;
    }
  }
}
