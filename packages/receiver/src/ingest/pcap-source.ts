import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { UsageError } from '@diodesync/cli-kit';
import { log } from '../log.js';
import { CaptureFileReader } from './capture-file.js';
import { CapturedDatagrams } from './captured-datagrams.js';
import type { Source, SourceEvents, SourceSink } from './open-source.js';

/** The receiver's memory for chunks not yet written, when the sink has one (the Receiver does). */
type Backlog = { budget?: { pressed: boolean } };

export const FRAGMENT_HINT = "IP fragments dropped: the sender's datagrams are larger than the link's MTU; lower diode-send --mtu";

/**
 * Reads a capture byte stream (a file, stdin, tcpdump's stdout) to its end, handing each datagram
 * to the receiver. A file is read far faster than a link delivers: the stream pauses while the
 * receiver's chunk memory is over half full (up to a second a chunk), so nothing is dropped for want
 * of it. Resolves with why the stream stopped being a capture, if it did.
 */
export async function readCaptureStream(stream: Readable, port: number | undefined, sink: SourceSink): Promise<string | undefined> {
  const reader = new CaptureFileReader();
  // A copy: a frame kept for later must not pin the whole chunk of the file.
  const datagrams = new CapturedDatagrams(port, sink.counters, (d) => sink.handleDatagram(Buffer.from(d)), () => log('fragments', { hint: FRAGMENT_HINT }));
  const backlog = sink as SourceSink & Backlog;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      for (const packet of reader.push(chunk)) datagrams.packet(packet.linkType, packet.data);
      if (reader.failure) break;
      // At most a second per chunk: memory held by chunks that will never complete (their header
      // is not in the capture) must not stop the reading; past it the receiver drops and counts.
      for (let waited = 0; backlog.budget?.pressed && waited < 1000; waited += 5) await sleep(5);
    }
  } catch (err) {
    return (err as Error).message;
  }
  reader.end();
  sink.counters.capture.truncated += reader.cutRecords;
  if (reader.cutRecords > 0) log('capture-cut', { detail: 'the capture ends inside a record: that packet is counted truncated' });
  return reader.failure;
}

/**
 * pcap:FILE, or pcap:- for standard input: the capture is the whole transfer, so its end ends
 * the run (events.ended), without waiting for --timeout. A file that cannot be opened or is no
 * capture is a usage error (one line, exit 1).
 */
export async function openPcap(file: string, port: number | undefined, sink: SourceSink, events: SourceEvents): Promise<Source> {
  let stream: Readable;
  if (file === '-') stream = process.stdin;
  else {
    const handle = await open(file, 'r').catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read pcap:${file}: ${err.code === 'ENOENT' ? 'no such file' : err.code ?? err.message}`);
    });
    // Checked before the run starts: a file that is no capture is a mistake on the command line.
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    const first = new CaptureFileReader();
    first.push(head.subarray(0, bytesRead));
    if (first.failure || bytesRead < 4) {
      await handle.close();
      throw new UsageError(`pcap:${file} is not a pcap or pcapng capture`);
    }
    stream = handle.createReadStream({ start: 0, highWaterMark: 256 * 1024 });
  }
  void readCaptureStream(stream, port, sink).then((failure) => {
    if (failure) log('capture-unreadable', { file, error: failure });
    events.ended();
  });
  return { port: port ?? 0, io: 'pcap', close: async () => void stream.destroy() };
}
