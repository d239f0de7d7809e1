import assert from 'node:assert/strict';
import { decodeDatagram, type Frame, type FrameHeader } from '@diodesync/protocol';
import type { FrameSink } from '../transport/frame-sink.js';

/** For tests: a sink that decodes every frame sent to it and keeps the headers, in order (and shows each frame to `onFrame`). */
export function memoryWire(onFrame?: (frame: Frame) => void): { sink: FrameSink; frames: FrameHeader[] } {
  const frames: FrameHeader[] = [];
  const sink: FrameSink = {
    description: 'memory',
    send: (parts) => {
      const result = decodeDatagram(Buffer.concat(parts));
      assert.ok(result.ok);
      frames.push(result.frame.header);
      onFrame?.(result.frame);
      return undefined;
    },
    flush: async () => undefined,
    close: async () => undefined,
  };
  return { sink, frames };
}
