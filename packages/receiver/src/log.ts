import { formatLogLine, type LogFields } from '@diodesync/cli-kit';

const json = !process.stderr.isTTY || process.env.DIODESYNC_LOG === 'json';

/** Progress and events go to stderr: stdout may be the data transport ('-'). */
export function log(event: string, fields: LogFields = {}): void {
  process.stderr.write(formatLogLine(event, fields, json) + '\n');
}
