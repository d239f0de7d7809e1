// The machine's own limits, measured in the same run as diodesync:
// a bare Node UDP sender -> receiver at a given datagram size, and a disk write with fdatasync.
import * as dgram from 'node:dgram';
import { openSync, writeSync, fdatasyncSync, closeSync, rmSync } from 'node:fs';
import { once } from 'node:events';

/** Sends `bytes` in datagrams of `size` as fast as the socket takes them; returns what arrived, in Gb/s. */
export async function bareUdp(size, bytes = 500e6) {
  const rx = dgram.createSocket({ type: 'udp4', recvBufferSize: 32 * 1024 * 1024 });
  rx.bind(0, '127.0.0.1');
  await once(rx, 'listening');
  let received = 0;
  let first = 0;
  let last = 0;
  rx.on('message', (m) => {
    last = performance.now();
    if (!first) first = last;
    received += m.length;
  });
  const { fork } = await import('node:child_process');
  // The sender runs in its own process, as diodesync's does.
  const child = fork(new URL('./bare-sender.mjs', import.meta.url), [String(rx.address().port), String(size), String(bytes)]);
  await once(child, 'exit');
  await new Promise((r) => setTimeout(r, 300));
  rx.close();
  return { gbps: (received * 8) / ((last - first) / 1000) / 1e9, delivered: received / bytes };
}

/** Writes `bytes` in 1 MiB blocks and fdatasyncs; MB/s. */
export function diskWrite(path, bytes = 500e6) {
  const block = Buffer.alloc(1024 * 1024, 7);
  const fd = openSync(path, 'w');
  const started = performance.now();
  for (let done = 0; done < bytes; done += block.length) writeSync(fd, block);
  fdatasyncSync(fd);
  const seconds = (performance.now() - started) / 1000;
  closeSync(fd);
  rmSync(path);
  return { MBps: bytes / 1e6 / seconds };
}
