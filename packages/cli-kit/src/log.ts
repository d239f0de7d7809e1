export type LogFields = Record<string, string | number | boolean | null | undefined>;

/**
 * One log line: JSON for machines (pipes, journald), "event key=value" for people on a terminal.
 * Pure formatting; each program decides where the line goes.
 */
export function formatLogLine(event: string, fields: LogFields, json: boolean, now = new Date()): string {
  if (json) return JSON.stringify({ time: now.toISOString(), event, ...fields });
  const parts = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : v}`);
  return [now.toISOString().slice(11, 19), event, ...parts].join(' ');
}
