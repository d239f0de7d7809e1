import { FrameType, HEADER_LAYOUT, type Frame } from '@diodesync/protocol';
import { UsageError, type Endpoint } from '@diodesync/cli-kit';
import type { UdpIoPreference } from '@diodesync/native';
import type { TransportCounters } from '../counters.js';
import { openCaptureSource } from './capture-source.js';
import { openPcap } from './pcap-source.js';
import { connectTcp, listenTcp, pipeStream } from './stream-source.js';
import { listenUdp } from './udp-source.js';

/** An open transport; `close` stops it. */
export interface Source {
  port: number;
  /** UDP: the receive path (mmsg, dgram); a byte stream: 'stream'. */
  io?: string;
  /** UDP with --gro: `on (UDP_GRO)`, or why it is not and that each datagram is received alone. */
  gro?: string;
  /** UDP: what the kernel granted for SO_RCVBUF (Linux reports twice the usable size). */
  receiveBufferBytes?: number;
  close(): Promise<void>;
}

/** Where a transport delivers: datagrams (UDP) or frames cut from a byte stream (TCP, stdin). */
export interface SourceSink {
  readonly counters: TransportCounters;
  handleDatagram(datagram: Buffer): void;
  handleFrame(frame: Frame): void;
}

export interface SourceEvents {
  /** The UDP reader thread failed after it started: nothing more will arrive. */
  failed(err: Error): void;
  /** tcp://: the connection to the appliance came up or went down (it reconnects). */
  connection(state: 'connected' | 'disconnected', detail: string): void;
  /** '-': standard input ended; the stream was the whole transfer. */
  ended(): void;
}

/** A pass-through stream frame (by its header's type byte): handled before the file frames queued ahead of it. */
const isStreamFrame = (datagram: Buffer) => datagram[HEADER_LAYOUT.type.offset] === FrameType.Stream;

/**
 * Starts the transport `listen` names: a UDP socket in its reader thread, a TCP server or client,
 * or standard input. A socket that cannot be opened is a usage error (exit 1, one line).
 */
export async function openSource(
  listen: string,
  endpoint: Endpoint,
  settings: { rcvbuf: number; multicastInterface?: string | undefined; io?: UdpIoPreference; gro?: boolean },
  sink: SourceSink,
  events: SourceEvents,
): Promise<Source> {
  const onFrame = (frame: Frame) => sink.handleFrame(frame);
  try {
    switch (endpoint.scheme) {
      case 'udp': {
        const udp = await listenUdp(endpoint.host, endpoint.port, settings.rcvbuf, {
          onDatagram: (d) => sink.handleDatagram(d),
          onOverflow: (count) => (sink.counters.queueOverflow += count),
          onFailure: (err) => events.failed(err),
          urgent: isStreamFrame,
          keepWhenFull: FrameType.Stream,
        }, settings.multicastInterface, settings.io, settings.gro);
        const { groOn, groReason, coalesced: _, ...source } = udp;
        if (!settings.gro) return source;
        return Object.assign(source, groOn
          ? { io: `${udp.io}+gro`, gro: `on (${groReason})` }
          : { gro: `unavailable: ${groReason}; each datagram is received alone (io=${udp.io})` });
      }
      case 'tcp-listen':
        return await listenTcp(endpoint.host, endpoint.port, sink.counters, onFrame);
      case 'tcp':
        return connectTcp(endpoint.host, endpoint.port, sink.counters, onFrame, (state, detail) => events.connection(state, detail));
      case 'stdio':
        // The stream is the whole transfer: when it ends, so does the receiver.
        void pipeStream(process.stdin, sink.counters, onFrame).then(() => events.ended());
        return { port: 0, close: async () => void process.stdin.destroy() };
      case 'capture':
        return await openCaptureSource(endpoint.host, endpoint.port, settings.rcvbuf, sink, events);
      case 'pcap':
        // The capture is the whole transfer; only UDP to a port given in the address, or any ours.
        return await openPcap(endpoint.host, /:\d+$/.test(listen) ? endpoint.port : undefined, sink, events);
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EADDRINUSE' ? 'address already in use' : e.code === 'EADDRNOTAVAIL' ? 'address not available on this host' : e.code ?? e.message;
    throw new UsageError(`cannot listen on ${listen}: ${why}`);
  }
}
