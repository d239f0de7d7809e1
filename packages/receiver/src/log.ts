import { formatLogLine, levelTable, logEnabled, type LogFields, type LogLevel } from '@diodesync/cli-kit';

const json = !process.stderr.isTTY || process.env.DIODESYNC_LOG === 'json';

/** The receiver's events that are not plain information (-q keeps warn and error, -v shows debug). */
const levelOf = levelTable({
  error: ['capture-unreadable', 'write-failed', 'reader-failed', 'change-failed', 'stop-failed'],
  warn: [
    'verify-failed', 'rcvbuf-capped', 'stale-session', 'partial-expired', 'fec-repair-failed', 'link-down', 'sender-restart',
    'change-refused', 'change-differs', 'change-absent', 'state-legacy', 'manifest-not-kept', 'reconnecting', 'disconnected',
    'fragments', 'capture-cut', 'index-write-failed', 'manifest-delta-missed',
  ],
  debug: ['change-ignored', 'heartbeat'],
});

/** Progress and events go to stderr: stdout may be the data transport ('-'). */
export function log(event: string, fields: LogFields = {}, level: LogLevel = levelOf(event)): void {
  if (!logEnabled(level)) return;
  process.stderr.write(formatLogLine(event, fields, json, new Date(), level) + '\n');
}
