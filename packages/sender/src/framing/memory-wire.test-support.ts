import assert from 'node:assert/strict';
import { decodeDatagram, type FrameHeader } from '@diodesync/protocol';
import type { FrameSink } from '../transport/frame-sink.js';

/** For tests: a sink that decodes every frame sent to it and keeps the headers, in order. */
export function memoryWire(): { sink: FrameSink; frames: FrameHeader[] } {
  const frames: FrameHeader[] = [];
  const sink: FrameSink = {
    description: 'memory',
    send: (parts) => {
      const result = decodeDatagram(Buffer.concat(parts));
      assert.ok(result.ok);
      frames.push(result.frame.header);
      return undefined;
    },
    flush: async () => undefined,
    close: async () => undefined,
  };
  return { sink, frames };
}
