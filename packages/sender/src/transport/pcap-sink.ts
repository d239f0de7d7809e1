import { open } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { StreamSink } from './stream-sink.js';
import { TransportError } from './frame-sink.js';
import { MAX_PCAP_PAYLOAD, packetBlock, pcapngPreamble, wireHeaders } from './pcapng-encoder.js';

/**
 * --to pcap:FILE: what would go on the wire, written as a pcapng capture (Ethernet, IPv4, UDP to
 * `port`) instead of sent: a fixture for tests, an artefact for auditors. `pcap:-` writes to stdout.
 */
export class PcapSink extends StreamSink {
  private ipId = 0;

  static async open(file: string, port: number): Promise<PcapSink> {
    const stream = file === '-' ? process.stdout : (await open(file, 'w')).createWriteStream();
    const sink = new PcapSink(stream, `pcap:${file}`, port);
    sink.writeRaw(pcapngPreamble());
    return sink;
  }

  private constructor(stream: Writable, description: string, private readonly port: number) {
    super(stream, description);
  }

  private writeRaw(bytes: Buffer): void {
    void super.send([bytes]);
  }

  override send(parts: readonly Buffer[]): Promise<void> | undefined {
    const payloadBytes = parts.reduce((n, p) => n + p.length, 0);
    if (payloadBytes > MAX_PCAP_PAYLOAD) throw new TransportError(`${this.description}: a ${payloadBytes}-byte frame does not fit one IPv4 datagram; lower --mtu`);
    const headers = wireHeaders(parts, payloadBytes, this.port, this.ipId++);
    // Timestamps in microseconds since the epoch: the time the frame would have left.
    const { head, tail } = packetBlock(headers.length + payloadBytes, BigInt(Date.now()) * 1000n);
    return super.send([head, headers, ...parts, tail]);
  }
}
