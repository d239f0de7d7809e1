// The simplest Node UDP sender: the ceiling any Node sender on this machine can reach.
import * as dgram from 'node:dgram';

const [port, size, bytes] = process.argv.slice(2).map(Number);
const socket = dgram.createSocket({ type: 'udp4', sendBufferSize: 4 * 1024 * 1024 });
socket.connect(port, '127.0.0.1', async () => {
  const payload = Buffer.alloc(size, 1);
  let inFlight = 0;
  for (let sent = 0; sent < bytes; sent += size) {
    inFlight++;
    socket.send(payload, () => inFlight--);
    if (inFlight > 512) while (inFlight > 256) await new Promise((r) => setImmediate(r));
  }
  while (inFlight > 0) await new Promise((r) => setImmediate(r));
  socket.close();
});
