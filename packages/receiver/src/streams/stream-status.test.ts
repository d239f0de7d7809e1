import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { StreamKind, encodeStreamRecord } from '@diodesync/protocol';
import { newCounters } from '../counters.js';
import { formatMetrics, formatStatus, type ReceiverStatus } from '../operations/status.js';
import { StreamDelivery } from './stream-delivery.js';

test('status and metrics show each channel and the channels without --deliver', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'diodesync-status-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const delivery = new StreamDelivery([{ name: 'syslog', text: `syslog=file:${dir}`, kind: 'file', dir }]);
  for (const [i, channel] of ['syslog', 'syslog', 'other'].entries()) {
    const raw = encodeStreamRecord({ kind: StreamKind.Datagram, channel, sequence: i, session: 0, fecIndex: 0, fecCount: 0, parityCount: 0, sentAt: Date.now(), data: Buffer.from('hello') });
    delivery.take(9, { kind: StreamKind.Datagram, channel, sequence: i, session: 0, fecIndex: 0, fecCount: 0, parityCount: 0, sentAt: Date.now(), data: Buffer.from('hello') }, raw);
  }
  const status: ReceiverStatus = {
    updatedAt: new Date().toISOString(), pid: 1, running: true, listen: 'udp://127.0.0.1:1', dest: '/d', counters: newCounters(), framesLost: 0,
    partialFiles: 0, bufferedBytes: 0, synced: true, missing: 0, link: 'up', lastHeartbeat: null, streams: delivery.status(),
  };
  await delivery.stop();
  assert.equal(status.streams!.channels.syslog!.messagesOut, 2);
  const text = formatStatus(status);
  assert.match(text, /channel {6}syslog -> file:.*: 2 out \(10 bytes\) of 2 in, 0 repaired, 0 gaps \(0 lost\)/);
  assert.match(text, /undelivered {2}other 1 \(5 bytes\)/);
  const metrics = formatMetrics(status);
  assert.match(metrics, /^diodesync_stream_messages_out_total\{channel="syslog"\} 2$/m);
  assert.match(metrics, /^diodesync_stream_undelivered_total\{channel="other"\} 1$/m);
});
