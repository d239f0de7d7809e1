import * as dgram from 'node:dgram';
import { isIP } from 'node:net';

export function isMulticast(address: string): boolean {
  if (isIP(address) === 6) return address.toLowerCase().startsWith('ff');
  const first = Number(address.split('.')[0]);
  return isIP(address) === 4 && first >= 224 && first <= 239;
}

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
  multicastInterface?: string,
): Promise<UdpSource> {
  const multicast = isMulticast(host);
  // A multicast group may have other listeners on this host: share the port only then.
  const socket = dgram.createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4', reuseAddr: multicast });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  // Join on the named interface only (the test suite pins it to lo).
  if (multicast) socket.addMembership(host, multicastInterface);
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
