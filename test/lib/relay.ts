import * as dgram from 'node:dgram';

/** What to do with one datagram: forward it (possibly changed), or drop it (null). */
export type Impair = (datagram: Buffer, index: number) => Buffer | null;

export interface Relay {
  port: number;
  forwarded: number;
  dropped: number;
  close(): Promise<void>;
}

/** A UDP relay on 127.0.0.1 that passes each datagram through `impair` on its way to `targetPort`. */
export async function startRelay(targetPort: number, impair: Impair): Promise<Relay> {
  const socket = dgram.createSocket('udp4');
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  socket.setRecvBufferSize(8 * 1024 * 1024);
  const relay: Relay = {
    port: socket.address().port,
    forwarded: 0,
    dropped: 0,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
  let index = 0;
  socket.on('message', (msg) => {
    const out = impair(msg, index++);
    if (!out) {
      relay.dropped++;
      return;
    }
    relay.forwarded++;
    socket.send(out, targetPort, '127.0.0.1');
  });
  return relay;
}
