import { formatBitRate, formatBytes, formatLogLine, type LogFields } from '@diodesync/cli-kit';
import type { SenderStats } from './sender.js';

const tty = process.stderr.isTTY && process.env.DIODESYNC_LOG !== 'json';
let statusLine = '';

/** Progress and events go to stderr: stdout may be the data transport ('-'). */
export function log(event: string, fields: LogFields = {}): void {
  const line = formatLogLine(event, fields, !tty) + '\n';
  // On a terminal the live progress line stays last: clear it, print, draw it again.
  process.stderr.write(tty && statusLine ? `\r\x1b[K${line}${statusLine}` : line);
}

/** On a terminal, one live line: what is queued and sent, the rate and the time left. Elsewhere nothing (events are logged). */
export function showProgress(stats: SenderStats | undefined, wireBytes = 0, seconds = 0): void {
  if (!tty) return;
  if (!stats) {
    if (statusLine) process.stderr.write('\r\x1b[K');
    statusLine = '';
    return;
  }
  const rate = seconds > 0 ? (wireBytes * 8) / seconds : 0;
  const eta = rate > 0 && stats.queuedBytes > 0 ? Math.ceil((stats.queuedBytes * 8) / rate) : 0;
  statusLine = `sent ${stats.filesSent} files (${formatBytes(stats.fileBytesSent)}), queued ${stats.queuedFiles} (${formatBytes(stats.queuedBytes)}), ${formatBitRate(rate)}${eta ? `, ETA ${Math.floor(eta / 60)}:${String(eta % 60).padStart(2, '0')}` : ''}`;
  process.stderr.write(`\r\x1b[K${statusLine}`);
}
