import { createHash } from 'node:crypto';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { events, type Running } from './cli.js';

/** The high side's consumer of a udp:// channel: every datagram it gets, in arrival order. */
export async function udpCollector(): Promise<{ port: number; messages: Buffer[]; close(): Promise<void> }> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  socket.setRecvBufferSize(4 * 1024 * 1024);
  const messages: Buffer[] = [];
  socket.on('message', (m) => messages.push(m));
  return { port: socket.address().port, messages, close: () => new Promise((resolve) => socket.close(() => resolve())) };
}

export interface TargetConnection {
  bytes: number;
  sha256: string;
  /** 'fin' for a clean end, 'reset' when the peer cut it. */
  ended: Promise<'fin' | 'reset'>;
}

/** The high side's consumer of a tcp:// channel: each connection hashed as it arrives. */
export async function tcpTarget(): Promise<{ port: number; connections: TargetConnection[]; close(): Promise<void> }> {
  const connections: TargetConnection[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const hash = createHash('sha256');
    let reset = false;
    const conn: TargetConnection = {
      bytes: 0,
      sha256: '',
      ended: new Promise((resolve) => socket.on('close', () => {
        conn.sha256 = hash.digest('hex');
        sockets.delete(socket);
        resolve(reset ? 'reset' : 'fin');
      })),
    };
    connections.push(conn);
    socket.on('data', (d: Buffer) => {
      conn.bytes += d.length;
      hash.update(d);
    });
    socket.on('error', () => (reset = true));
    socket.on('end', () => socket.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Sends `count` datagrams made by `make`, `perTick` every `tickMs` (a steady feed, as syslog is). */
export async function feedDatagrams(port: number, count: number, make: (i: number) => Buffer, perTick = 50, tickMs = 5): Promise<void> {
  const socket = dgram.createSocket('udp4');
  try {
    for (let i = 0; i < count; ) {
      const started = performance.now();
      for (const end = Math.min(count, i + perTick); i < end; i++) socket.send(make(i), port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, Math.max(0, tickMs - (performance.now() - started))));
    }
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

/** Writes `data` into a low-side tcp-listen:// channel and closes; resolves once the sender took it all. */
export async function feedTcp(port: number, data: Buffer): Promise<void> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.on('error', reject);
    socket.end(data, () => resolve());
  });
  await new Promise((resolve) => socket.on('close', resolve));
}

/** Ports the sender bound for its --forward channels, by name, once it logged them all. */
export async function forwardPorts(sender: Running, channels: number): Promise<Record<string, number>> {
  await sender.waitForEvent('start');
  const ports = events(sender.stderr()).filter((e) => e.event === 'forwarding').map((e) => [String(e.channel), Number(e.port)] as const);
  if (ports.length !== channels) throw new Error(`${ports.length} forwarding lines, expected ${channels}: ${sender.stderr()}`);
  return Object.fromEntries(ports);
}

/** Waits until `check` holds, polling; throws with `what` after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
