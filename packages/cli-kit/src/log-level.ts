/** How much the programs say: -q keeps warnings and errors, -v adds debug lines. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

let threshold: LogLevel = 'info';

/** The lowest level still written; set once from -q / -v. */
export function setLogThreshold(level: LogLevel): void {
  threshold = level;
}

export function logEnabled(level: LogLevel): boolean {
  return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(threshold);
}

/** -q: warnings and errors only; -v: debug too; both: -v wins (the operator asked to see more). */
export function thresholdFromFlags(quiet: boolean | undefined, verbose: boolean | undefined): LogLevel {
  return verbose ? 'debug' : quiet ? 'warn' : 'info';
}

/** A program's table of events that are not plain information: everything else is 'info'. */
export function levelTable(levels: Partial<Record<Exclude<LogLevel, 'info'>, readonly string[]>>): (event: string) => LogLevel {
  const byEvent = new Map<string, LogLevel>();
  for (const [level, events] of Object.entries(levels)) for (const e of events) byEvent.set(e, level as LogLevel);
  return (event) => byEvent.get(event) ?? 'info';
}
