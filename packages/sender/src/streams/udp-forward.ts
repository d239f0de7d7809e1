import * as dgram from 'node:dgram';
import { isIP } from 'node:net';
import type { Endpoint } from '@diodesync/cli-kit';
import type { ChannelEncoder } from './channel-encoder.js';

/** A UDP socket on the low side (syslog, telemetry): each datagram it receives (up to 65,507 bytes) goes into the channel. */
export async function listenUdp(endpoint: Endpoint, channel: ChannelEncoder, refused: () => void): Promise<{ port: number; close(): Promise<void> }> {
  const socket = dgram.createSocket({ type: isIP(endpoint.host) === 6 ? 'udp6' : 'udp4', reuseAddr: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(endpoint.port, endpoint.host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  // A burst of syslog must wait in the kernel rather than be lost while the loop is busy.
  try {
    socket.setRecvBufferSize(8 * 1024 * 1024);
  } catch {
    // capped by net.core.rmem_max: the default buffer still works
  }
  socket.on('error', () => undefined);
  socket.on('message', (msg) => {
    if (!channel.datagram(msg)) refused();
  });
  return {
    port: socket.address().port,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
