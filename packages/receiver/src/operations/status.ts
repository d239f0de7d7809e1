import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { UsageError } from '@diodesync/cli-kit';
import type { ReceiverCounters } from '../counters.js';
import { writeJsonAtomic } from './json-file.js';
import type { LinkState } from './link-watchdog.js';
import { formatLinkLines, formatLinkMetrics, type LinkStatus } from './link-status.js';
import type { StreamDelivery } from '../streams/stream-delivery.js';

export const STATUS_FILE = 'status.json';

/** What `diode-receive status` and the metrics endpoint show; written to <state>/status.json. */
export interface ReceiverStatus {
  updatedAt: string;
  pid: number;
  running: boolean;
  listen: string;
  dest: string;
  counters: ReceiverCounters;
  framesLost: number;
  partialFiles: number;
  bufferedBytes: number;
  synced: boolean;
  missing: number;
  link: LinkState;
  lastHeartbeat: string | null;
  /** Each --listen (one or several), with its own counters and watchdog; the fields above are the totals. */
  links?: LinkStatus[];
  /** Pass-through channels (--deliver), and channels that came without one. */
  streams?: ReturnType<StreamDelivery['status']>;
}

export async function writeStatus(stateDir: string, status: ReceiverStatus): Promise<void> {
  await writeJsonAtomic(path.join(stateDir, STATUS_FILE), status);
}

export async function readStatus(stateDir: string): Promise<ReceiverStatus> {
  return JSON.parse(await readFile(path.join(stateDir, STATUS_FILE), 'utf8')) as ReceiverStatus;
}

/** `diode-receive status`: the last status a receiver wrote, as text or JSON, on stdout. */
export async function printStatus(stateDir: string, json: boolean): Promise<void> {
  const status = await readStatus(stateDir).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`no receiver status in '${stateDir}' (${err.code ?? err.message}): is it the --state of a receiver that has run?`);
  });
  // A status file left by a process that died without stopping cleanly says "running": check.
  if (status.running) {
    try {
      process.kill(status.pid, 0);
    } catch {
      status.running = false;
    }
  }
  process.stdout.write(json ? JSON.stringify(status, null, 2) + '\n' : formatStatus(status) + '\n');
}

/** Human-readable status, one fact per line. */
export function formatStatus(s: ReceiverStatus): string {
  const c = s.counters;
  const drops = Object.entries(c.framing).filter(([, n]) => n > 0).map(([r, n]) => `${r} ${n}`).join(', ') || 'none';
  return [
    `receiver     ${s.running ? `running (pid ${s.pid})` : 'stopped'}, updated ${s.updatedAt}`,
    `listen       ${s.listen}`,
    `mirror       ${s.dest}: ${s.synced ? 'in sync' : `${s.missing} file(s) missing or outdated`}`,
    `link         ${s.link}, last heartbeat ${s.lastHeartbeat ?? 'never'}`,
    ...formatLinkLines(s.links),
    `frames       ${c.framesReceived} received (${c.bytesReceived} bytes), ~${s.framesLost} lost on the link`,
    `bad frames   ${drops}; ${c.bytesSkipped} bytes skipped re-aligning`,
    `auth         ${Object.entries(c.auth ?? {}).map(([r, n]) => `${r} ${n}`).join(', ')}`,
    `limits       ${Object.entries(c.limits ?? {}).map(([r, n]) => `${r} ${n}`).join(', ')}`,
    `refused      bad message ${c.badMessage}, bad path ${c.badPath}, bad chunk ${c.badChunk}, orphan data ${c.orphanData}, stale session ${c.staleSession ?? 0}`,
    `queues       overflow ${c.queueOverflow}, too many objects ${c.tooManyPartials}, ${s.bufferedBytes} bytes buffered`,
    `files        ${c.filesCompleted} complete, ${s.partialFiles} partial, ${c.verifyFailed} failed verification, ${c.writeErrors} write errors, ${c.partialsExpired} expired`,
    ...(/^(capture|pcap):/.test(s.listen) && c.capture ? [`capture      ${Object.entries(c.capture).map(([r, n]) => `${r} ${n}`).join(', ')}`] : []),
    ...formatChannels(s),
  ].join('\n');
}

/** One line per pass-through channel, then the channels that had no --deliver. */
function formatChannels(s: ReceiverStatus): string[] {
  const lines = Object.entries(s.streams?.channels ?? {}).map(([name, ch]) =>
    `channel      ${name} -> ${ch.deliver}: ${ch.messagesOut} out (${ch.bytesOut} bytes) of ${ch.messagesIn} in, ${ch.repaired} repaired, ` +
    `${ch.gaps} gaps (${ch.lost} lost), sessions ${ch.sessionsOpened} opened / ${ch.sessionsBroken} cut, ${ch.deliveryErrors} delivery errors, ` +
    `latency p50 ${ch.latencyMs.p50} ms p99 ${ch.latencyMs.p99} ms`);
  const undelivered = Object.entries(s.streams?.undelivered ?? {});
  if (undelivered.length) lines.push(`undelivered  ${undelivered.map(([n, c]) => `${n} ${c.messages} (${c.bytes} bytes)`).join(', ')}`);
  return lines;
}

/** Prometheus text exposition of the same figures. */
export function formatMetrics(s: ReceiverStatus): string {
  const c = s.counters;
  const lines: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, value: number, labels = '') => {
    if (!lines.some((l) => l.startsWith(`# HELP diodesync_${name} `))) {
      lines.push(`# HELP diodesync_${name} ${help}`, `# TYPE diodesync_${name} ${type}`);
    }
    lines.push(`diodesync_${name}${labels} ${value}`);
  };
  metric('frames_received_total', 'counter', 'Frames read from the transport.', c.framesReceived);
  metric('bytes_received_total', 'counter', 'Bytes read from the transport.', c.bytesReceived);
  metric('frames_lost_total', 'counter', 'Frames missing from the sender sequence.', s.framesLost);
  for (const [reason, n] of Object.entries(c.framing)) metric('frames_dropped_total', 'counter', 'Frames dropped, by reason.', n, `{reason="${reason}"}`);
  for (const [reason, n] of [['bad-message', c.badMessage], ['bad-path', c.badPath], ['bad-chunk', c.badChunk], ['orphan', c.orphanData], ['stale-session', c.staleSession ?? 0], ['queue-overflow', c.queueOverflow], ['too-many-objects', c.tooManyPartials], ['duplicate', c.duplicateChunks]] as const) {
    metric('frames_dropped_total', 'counter', 'Frames dropped, by reason.', n, `{reason="${reason}"}`);
  }
  for (const [reason, n] of Object.entries(c.auth)) metric('frames_dropped_total', 'counter', 'Frames dropped, by reason.', n, `{reason="auth-${reason}"}`);
  for (const [limit, n] of Object.entries(c.limits)) metric('objects_refused_total', 'counter', 'Object headers refused by a limit.', n, `{limit="${limit}"}`);
  metric('bytes_skipped_total', 'counter', 'Bytes skipped while re-aligning a stream.', c.bytesSkipped);
  for (const [reason, n] of Object.entries(c.capture ?? {})) metric('capture_packets_dropped_total', 'counter', 'Captured packets without a whole datagram for us, by reason.', n, `{reason="${reason}"}`);
  metric('files_completed_total', 'counter', 'Files verified and placed.', c.filesCompleted);
  metric('files_verify_failed_total', 'counter', 'Files whose SHA-256 did not match.', c.verifyFailed);
  metric('files_partial', 'gauge', 'Files being assembled.', s.partialFiles);
  metric('buffered_bytes', 'gauge', 'Bytes accepted but not yet on disk.', s.bufferedBytes);
  metric('missing_files', 'gauge', 'Files of the latest manifest not yet in the mirror.', s.missing);
  metric('link_up', 'gauge', '1 while heartbeats arrive.', s.link === 'up' ? 1 : 0);
  metric('write_errors_total', 'counter', 'Files that could not be written or placed (disk full, permissions).', c.writeErrors);
  metric('fec_repaired_chunks_total', 'counter', 'Data chunks rebuilt from FEC parity.', c.fecRepairedChunks ?? 0);
  metric('fec_repaired_blocks_total', 'counter', 'FEC blocks that needed parity to be whole.', c.fecBlocksRepaired ?? 0);
  metric('fec_repair_failed_total', 'counter', 'FEC rebuilds that failed (the block waits for the next pass).', c.fecRepairFailed ?? 0);
  metric('fec_parity_unneeded_total', 'counter', 'Parity frames for blocks whose data had all arrived.', c.fecParityUnneeded ?? 0);
  for (const [outcome, n] of Object.entries(c.changes ?? {})) metric('changes_total', 'counter', 'Delete and rename announcements, by what became of them (deleted and renamed: applied).', n, `{outcome="${outcome}"}`);
  metric('manifests_received_total', 'counter', 'Manifests received and compared with the mirror.', c.manifests);
  metric('heartbeats_received_total', 'counter', 'Heartbeats of the newest sender session.', c.heartbeats ?? 0);
  metric('last_heartbeat_timestamp_seconds', 'gauge', 'Unix time of the last heartbeat (0: none yet).', s.lastHeartbeat ? Date.parse(s.lastHeartbeat) / 1000 : 0);
  metric('partials_expired_total', 'counter', 'Partial files given up after --partial-ttl.', c.partialsExpired ?? 0);
  metric('duplicate_frames_total', 'counter', 'Frames that had arrived already (by another link): used once.', c.duplicateFrames ?? 0);
  formatLinkMetrics(s.links, metric);
  for (const [name, ch] of Object.entries(s.streams?.channels ?? {})) {
    const l = `{channel="${name}"}`;
    metric('stream_messages_in_total', 'counter', 'Stream records received (or rebuilt), by channel.', ch.messagesIn, l);
    metric('stream_bytes_in_total', 'counter', 'Stream bytes received, by channel.', ch.bytesIn, l);
    metric('stream_messages_out_total', 'counter', 'Stream records delivered, by channel.', ch.messagesOut, l);
    metric('stream_bytes_out_total', 'counter', 'Stream bytes delivered, by channel.', ch.bytesOut, l);
    metric('stream_repaired_total', 'counter', 'Stream records rebuilt from parity, by channel.', ch.repaired, l);
    metric('stream_gaps_total', 'counter', 'Stream gaps given up, by channel.', ch.gaps, l);
    metric('stream_lost_total', 'counter', 'Stream records lost in gaps, by channel.', ch.lost, l);
    metric('stream_sessions_cut_total', 'counter', 'TCP sessions cut on the high side after a gap, by channel.', ch.sessionsBroken, l);
    metric('stream_delivery_errors_total', 'counter', 'Stream records the target did not take, by channel.', ch.deliveryErrors, l);
    metric('stream_latency_p99_ms', 'gauge', 'p99 of the last records\' latency from the low side to delivery (both clocks), by channel.', ch.latencyMs.p99, l);
  }
  for (const [name, c] of Object.entries(s.streams?.undelivered ?? {})) {
    metric('stream_undelivered_total', 'counter', 'Stream records of channels without --deliver, dropped.', c.messages, `{channel="${name}"}`);
  }
  return lines.join('\n') + '\n';
}
