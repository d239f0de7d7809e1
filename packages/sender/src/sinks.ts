import type { Endpoint } from '@diodesync/protocol';
import type { FrameSink } from './transport.js';
import { UdpSink } from './udp-sink.js';

/** Opens the transport an endpoint names. */
export async function openSink(endpoint: Endpoint): Promise<FrameSink> {
  switch (endpoint.scheme) {
    case 'udp':
      return UdpSink.open(endpoint.host, endpoint.port);
    default:
      throw new Error(`transport ${endpoint.scheme} is not available`);
  }
}
