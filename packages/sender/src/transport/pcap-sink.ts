import { open } from 'node:fs/promises';
import { StreamSink } from './stream-sink.js';
import { TransportError, type FrameSink } from './frame-sink.js';
import { MAX_PCAP_PAYLOAD, packetBlock, pcapngPreamble, wireHeaders } from './pcapng-encoder.js';

/**
 * --to pcap:FILE: what would go on the wire, written as a pcapng capture (Ethernet, IPv4, UDP to
 * `port`) instead of sent: a fixture for tests, an artefact for auditors. `pcap:-` writes to stdout.
 */
export class PcapSink implements FrameSink {
  private ipId = 0;

  static async open(file: string, port: number): Promise<PcapSink> {
    const stream = file === '-' ? process.stdout : (await open(file, 'w')).createWriteStream();
    const sink = new PcapSink(new StreamSink(stream, `pcap:${file}`), port);
    void sink.out.send([pcapngPreamble()]);
    return sink;
  }

  // Not a batching sink itself (no reserve/commit): each frame is wrapped in its packet block
  // here, and the stream sink underneath batches the blocks into few writes.
  private constructor(private readonly out: StreamSink, private readonly port: number) {}

  get description(): string {
    return this.out.description;
  }

  send(parts: readonly Buffer[]): Promise<void> | undefined {
    const payloadBytes = parts.reduce((n, p) => n + p.length, 0);
    if (payloadBytes > MAX_PCAP_PAYLOAD) throw new TransportError(`${this.description}: a ${payloadBytes}-byte frame does not fit one IPv4 datagram; lower --mtu`);
    const headers = wireHeaders(parts, payloadBytes, this.port, this.ipId++);
    // Timestamps in microseconds since the epoch: the time the frame would have left.
    const { head, tail } = packetBlock(headers.length + payloadBytes, BigInt(Date.now()) * 1000n);
    return this.out.send([head, headers, ...parts, tail]);
  }

  flush(): Promise<void> {
    return this.out.flush();
  }

  close(): Promise<void> {
    return this.out.close();
  }
}
