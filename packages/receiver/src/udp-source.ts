import * as dgram from 'node:dgram';
import { isIP } from 'node:net';

export interface UdpSource {
  port: number;
  /** What the kernel granted for SO_RCVBUF (Linux reports twice the usable size). */
  receiveBufferBytes: number;
  close(): Promise<void>;
}

/** Binds a UDP socket and hands every datagram over; it does nothing else, so it never stalls on disk. */
export async function listenUdp(
  host: string,
  port: number,
  receiveBufferBytes: number,
  onDatagram: (datagram: Buffer) => void,
): Promise<UdpSource> {
  const socket = dgram.createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4', reuseAddr: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  try {
    socket.setRecvBufferSize(receiveBufferBytes);
  } catch {
    // Capped by net.core.rmem_max; what we got is reported below.
  }
  socket.on('message', onDatagram);
  socket.on('error', () => undefined);
  return {
    port: socket.address().port,
    receiveBufferBytes: socket.getRecvBufferSize(),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
