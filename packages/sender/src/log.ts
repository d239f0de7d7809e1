import { formatLogLine, levelTable, logEnabled, type LogFields, type LogLevel } from '@diodesync/cli-kit';

const tty = process.stderr.isTTY && process.env.DIODESYNC_LOG !== 'json';
let statusLine = '';

/** The sender's events that are not plain information (-q keeps warn and error, -v shows debug). */
const levelOf = levelTable({
  warn: ['entry-unreadable', 'file-unreadable', 'file-changed', 'reconnecting', 'ledger-legacy'],
  debug: ['scan'],
});

/** Progress and events go to stderr: stdout may be the data transport ('-'). */
export function log(event: string, fields: LogFields = {}, level: LogLevel = levelOf(event)): void {
  if (!logEnabled(level)) return;
  const line = formatLogLine(event, fields, !tty, new Date(), level) + '\n';
  // On a terminal the live progress line stays last: clear it, print, draw it again.
  process.stderr.write(tty && statusLine ? `\r\x1b[K${line}${statusLine}` : line);
}

/** On a terminal, draws `line` as the live last line of stderr; undefined removes it. Elsewhere nothing. */
export function showStatus(line: string | undefined): void {
  if (!tty) return;
  if (line === undefined) {
    if (statusLine) process.stderr.write('\r\x1b[K');
    statusLine = '';
    return;
  }
  statusLine = line;
  process.stderr.write(`\r\x1b[K${statusLine}`);
}
