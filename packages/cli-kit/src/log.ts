import { logEnabled, type LogLevel } from './log-level.js';

export type LogFields = Record<string, string | number | boolean | null | undefined>;

/**
 * One log line: JSON for machines (pipes, journald), "event key=value" for people on a terminal.
 * Every JSON line has a `level` (debug, info, warn, error); on a terminal only non-info levels
 * are shown, in capitals. Pure formatting; `log` writes it to stderr, a program with a live
 * status line does its own.
 */
export function formatLogLine(event: string, fields: LogFields, json: boolean, now = new Date(), level: LogLevel = 'info'): string {
  if (json) return JSON.stringify({ time: now.toISOString(), level, event, ...fields });
  const parts = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : v}`);
  return [now.toISOString().slice(11, 19), ...(level === 'info' ? [] : [level.toUpperCase()]), event, ...parts].join(' ');
}

let json: boolean | undefined;

/**
 * Writes one log line to stderr (stdout may be the data transport, '-'): JSON unless stderr is a
 * terminal, and always with DIODESYNC_LOG=json. Lines below the threshold (-q, -v) are dropped.
 */
export function log(event: string, fields: LogFields = {}, level: LogLevel = 'info'): void {
  if (!logEnabled(level)) return;
  json ??= !process.stderr.isTTY || process.env.DIODESYNC_LOG === 'json';
  process.stderr.write(formatLogLine(event, fields, json, new Date(), level) + '\n');
}
