import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFrame, FrameType } from '@diodesync/protocol';
import { newCounters } from '../counters.js';
import { CapturedDatagrams } from './captured-datagrams.js';
import { LinkType } from './link-frames.js';
import { ethernet, ipv4, udpHeader } from './link-frames.test-support.js';

const frame = (sequence: number, bytes: number) => encodeFrame({ type: FrameType.Data, sessionId: 7, sequence, objectId: 1, chunkIndex: sequence }, Buffer.alloc(bytes, sequence));

function harness(port: number | undefined) {
  const counters = newCounters();
  const got: Buffer[] = [];
  let fragmentCalls = 0;
  const datagrams = new CapturedDatagrams(port, counters, (d) => got.push(Buffer.from(d)), () => fragmentCalls++);
  return { counters, got, datagrams, fragments: () => fragmentCalls };
}

test('a UDP GSO super-packet (frames back to back) is split at each checked header', () => {
  const frames = [frame(1, 1400), frame(2, 1400), frame(3, 200)];
  const h = harness(36016);
  h.datagrams.packet(LinkType.ETHERNET, ethernet(ipv4(udpHeader(Buffer.concat(frames), 36016))));
  assert.deepEqual(h.got, frames);
});

test('a super-packet whose tail is no frame: the frames before it, then the rest as one datagram for the intake to refuse', () => {
  const junk = Buffer.from('not a frame at all');
  const h = harness(36016);
  h.datagrams.packet(LinkType.ETHERNET, ethernet(ipv4(udpHeader(Buffer.concat([frame(1, 100), junk]), 36016))));
  assert.deepEqual(h.got, [frame(1, 100), junk]);
});

test('fragments are counted, and the hint is given once; other ports and, on any port, non-frames are ignored', () => {
  const h = harness(36016);
  for (let i = 0; i < 3; i++) h.datagrams.packet(LinkType.ETHERNET, ethernet(ipv4(udpHeader(frame(i, 10), 36016), { flagsOffset: 0x2000 })));
  assert.equal(h.counters.capture.fragments, 3);
  assert.equal(h.fragments(), 1);
  h.datagrams.packet(LinkType.ETHERNET, ethernet(ipv4(udpHeader(frame(9, 10), 53))));
  assert.equal(h.counters.capture.ignored, 1);
  assert.equal(h.got.length, 0);
  const any = harness(undefined);
  any.datagrams.packet(LinkType.ETHERNET, ethernet(ipv4(udpHeader(Buffer.from('a DNS query, say'), 53))));
  any.datagrams.packet(LinkType.ETHERNET, ethernet(ipv4(udpHeader(frame(4, 10), 4000))));
  assert.equal(any.counters.capture.ignored, 1);
  assert.deepEqual(any.got, [frame(4, 10)]);
});

test('a packet cut by the snap length is counted truncated, not delivered', () => {
  const h = harness(36016);
  const whole = ethernet(ipv4(udpHeader(frame(1, 500), 36016)));
  h.datagrams.packet(LinkType.ETHERNET, whole.subarray(0, 96));
  assert.equal(h.counters.capture.truncated, 1);
  assert.equal(h.got.length, 0);
});
