import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { UsageError } from '@diodesync/cli-kit';
import { captureIo } from '@diodesync/native';
import { log } from '../log.js';
import type { Source, SourceEvents, SourceSink } from './open-source.js';
import type { CaptureReaderMessage, CaptureReaderSettings } from './capture-reader-thread.js';
import { FRAGMENT_HINT, readCaptureStream } from './pcap-source.js';

// CAP_NET_RAW is all a packet socket and its promiscuous membership take; CAP_NET_ADMIN only lets
// --rcvbuf pass net.core.rmem_max.
const NEEDS_CAP_NET_RAW = 'needs CAP_NET_RAW: run as root, or give it to the service (systemd AmbientCapabilities=CAP_NET_RAW), or `setcap cap_net_raw+ep` on its node binary';

/**
 * capture://IFACE:PORT: frames for any MAC and IP on a tap. With the addon, a packet socket in a
 * reader thread (capture-reader-thread.ts); without it, `tcpdump -w -` as a child, its pcap
 * stream read as pcap:- is (the listening line says which). Neither: one error line.
 */
export async function openCaptureSource(iface: string, port: number, rcvbuf: number, sink: SourceSink, events: SourceEvents): Promise<Source> {
  if (captureIo.available) return captureThread(iface, port, rcvbuf, sink, events);
  // tcpdump would only fail once running; on the fallback path a wrong name is a usage error too.
  if (!existsSync(`/sys/class/net/${iface}`)) throw new UsageError(`capture://${iface}: no such interface`);
  return tcpdumpChild(iface, port, rcvbuf, sink, events, captureIo.reason);
}

async function captureThread(iface: string, port: number, rcvbuf: number, sink: SourceSink, events: SourceEvents): Promise<Source> {
  const shared = new SharedArrayBuffer(8);
  const pending = new Int32Array(shared);
  const settings: CaptureReaderSettings = { interface: iface, port, receiveBufferBytes: rcvbuf, maxBufferedBytes: rcvbuf, shared };
  const worker = new Worker(new URL('./capture-reader-thread.js', import.meta.url), { workerData: settings });
  const ready = await new Promise<{ receiveBufferBytes: number }>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', function first(message: CaptureReaderMessage) {
      if (!('ready' in message) && !('error' in message)) return;
      worker.off('message', first);
      worker.off('error', reject);
      if ('ready' in message) resolve(message.ready);
      else reject(Object.assign(new Error(message.error.message), { code: message.error.code }));
    });
  }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EPERM' || err.code === 'EACCES') throw new UsageError(`capture://${iface} ${NEEDS_CAP_NET_RAW}`);
    if (err.code === 'ENODEV') throw new UsageError(`capture://${iface}: no such interface`);
    throw new UsageError(`capture://${iface}: ${err.message}`);
  });
  worker.on('error', (err) => events.failed(err));
  worker.on('message', (message: CaptureReaderMessage) => {
    if ('error' in message) return events.failed(new Error(message.error.message));
    if (!('batch' in message)) return;
    const c = sink.counters.capture;
    c.fragments += message.counts.fragments;
    c.truncated += message.counts.truncated;
    c.ignored += message.counts.ignored;
    c.kernelDropped += message.counts.kernelDropped;
    if (message.fragmentSeen) logFragmentsOnce();
    if (message.dropped > 0) sink.counters.queueOverflow += message.dropped;
    if (!message.batch) return;
    const batch = Buffer.from(message.batch, 0, message.bytes);
    for (let offset = 0; offset < batch.length; ) {
      const length = batch.readUInt32BE(offset);
      sink.handleDatagram(Buffer.from(batch.subarray(offset + 4, offset + 4 + length)));
      offset += 4 + length;
    }
    Atomics.sub(pending, 0, batch.length);
  });
  return {
    port, io: 'af_packet', receiveBufferBytes: ready.receiveBufferBytes,
    close: async () => {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      Atomics.store(pending, 1, 1);
      await exited;
    },
  };
}

let fragmentsLogged = false;
function logFragmentsOnce(): void {
  if (fragmentsLogged) return;
  fragmentsLogged = true;
  log('fragments', { hint: FRAGMENT_HINT });
}

/** The fallback: tcpdump writes pcap to a pipe as packets arrive (-U); we read it as pcap:- is read. */
async function tcpdumpChild(iface: string, port: number, rcvbuf: number, sink: SourceSink, events: SourceEvents, why: string): Promise<Source> {
  // -B: the kernel buffer in KiB, as --rcvbuf sizes the packet socket's.
  const bufferKiB = String(Math.max(1024, Math.ceil(rcvbuf / 1024)));
  const child = spawn('tcpdump', ['-i', iface, '-Q', 'in', '-B', bufferKiB, '-w', '-', '-U', '-n', '--immediate-mode', `udp port ${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  // Started once the pcap file header comes out; an exit or a spawn error first says why not.
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('readable', () => resolve());
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(new UsageError(err.code === 'ENOENT'
        ? `capture://${iface} needs the native addon (${why}) or tcpdump on PATH; neither is here`
        : `capture://${iface}: cannot run tcpdump: ${err.message}`)));
    child.once('exit', () => {
      const last = stderr.trim().split('\n').pop() ?? '';
      reject(new UsageError(/permission|not permitted/i.test(last) ? `capture://${iface} (tcpdump) ${NEEDS_CAP_NET_RAW}` : `capture://${iface}: tcpdump: ${last || 'exited'}`));
    });
  });
  let closing = false;
  void readCaptureStream(child.stdout, port, sink).then((failure) => {
    if (closing) return;
    const last = stderr.trim().split('\n').pop() ?? '';
    events.failed(new Error(`tcpdump stopped${failure ? ` (${failure})` : ''}${last ? `: ${last}` : ''}`));
  });
  return {
    port, io: `tcpdump (no addon: ${why})`,
    close: async () => {
      closing = true;
      const exited = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
