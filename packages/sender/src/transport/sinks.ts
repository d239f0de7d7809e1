import { formatEndpoint, type Endpoint } from '@diodesync/cli-kit';
import { log } from '../log.js';
import { stdoutSink, TcpSink } from './stream-sink.js';
import type { FrameSink } from './frame-sink.js';
import { PcapSink } from './pcap-sink.js';
import { UdpSink, type UdpOptions } from './udp-sink.js';

/** Opens the transport an endpoint names. */
export async function openSink(endpoint: Endpoint, udp: UdpOptions = {}, tcpAttempts = Infinity, signal?: AbortSignal): Promise<FrameSink> {
  switch (endpoint.scheme) {
    case 'udp':
      return UdpSink.open(endpoint.host, endpoint.port, udp);
    case 'tcp':
      return TcpSink.open(endpoint.host, endpoint.port, {
        maxAttempts: tcpAttempts, signal,
        onReconnect: (attempt, error) => log('reconnecting', { to: formatEndpoint(endpoint), attempt, error }),
      });
    case 'stdio':
      return stdoutSink();
    case 'pcap':
      return PcapSink.open(endpoint.host, endpoint.port);
    default:
      throw new Error(`transport ${endpoint.scheme} cannot send`);
  }
}
