import { readFileSync } from 'node:fs';
import picomatch from 'picomatch';
import { reportedPaths } from '@diodesync/protocol';
import type { LedgerVersion } from './store.js';

/** What an operator gave `diode-send ledger reset`; every criterion given must match. */
export interface ResetOptions {
  since?: string;
  until?: string;
  path?: string;
  regex?: string;
  fromReport?: string;
  all?: boolean;
}

export interface ResetSelection {
  select: (v: LedgerVersion) => boolean;
  /** The criteria as parsed, for the reset log. */
  criteria: Record<string, unknown>;
  /** Paths named by the report. */
  reportPaths?: Set<string>;
}

/** A mistake in the criteria: one line for the operator. */
export class CriteriaError extends Error {}

// 2026-11-17, 2026-11-17T10:00, 2026-11-17 10:00:05.250, each optionally followed by Z or +01:00.
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** ISO 8601 date or date-time; without a zone it is local time. Returns ms since the epoch. */
export function parseDateTime(text: string, option = 'date'): number {
  const m = DATETIME.exec(text.trim());
  if (!m) throw new CriteriaError(`${option}: '${text}' is not an ISO 8601 date-time (e.g. 2026-11-17T10:00, 2026-11-17 10:00:00+01:00)`);
  const [y, mo, d, h = 0, mi = 0, s = 0] = m.slice(1, 7).map((x) => Number(x ?? 0)) as number[];
  const ms = Number((m[7] ?? '0').padEnd(3, '0'));
  const zone = m[8];
  let at: number;
  let back: Date;
  if (zone) {
    const sign = zone === 'Z' ? 0 : zone[0] === '-' ? -1 : 1;
    const digits = zone.replace(/[^0-9]/g, '');
    const offsetMin = zone === 'Z' ? 0 : sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)));
    const utc = Date.UTC(y!, mo! - 1, d!, h, mi, s, ms);
    at = utc - offsetMin * 60_000;
    back = new Date(utc);
    if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo! - 1 || back.getUTCDate() !== d || back.getUTCHours() !== h || back.getUTCMinutes() !== mi) at = NaN;
  } else {
    back = new Date(y!, mo! - 1, d!, h, mi, s, ms);
    at = back.getTime();
    if (back.getFullYear() !== y || back.getMonth() !== mo! - 1 || back.getDate() !== d || back.getHours() !== h || back.getMinutes() !== mi) at = NaN;
  }
  if (!Number.isFinite(at) || s! > 59) throw new CriteriaError(`${option}: '${text}' is not a valid date-time`);
  return at;
}

/** The paths the receiver's report lists as missing or outdated. */
export function readReportPaths(file: string): Set<string> {
  let report: unknown;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new CriteriaError(`--from-report: cannot read ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
  const paths = reportedPaths(report);
  if (!paths) throw new CriteriaError(`--from-report: ${file} is not a diode-receive report (expected "missing" and "outdated" lists of {path})`);
  return new Set(paths);
}

/**
 * Turns the operator's criteria into a predicate over ledger versions. --since and --until
 * select versions with a send inside the window (last send at or after --since, first send
 * at or before --until): a copy that went out during an incident may be lost.
 */
export function resetSelection(o: ResetOptions): ResetSelection {
  const given = [o.since, o.until, o.path, o.regex, o.fromReport].some((x) => x !== undefined);
  if (!given && !o.all) throw new CriteriaError('say what to reset: --since, --until, --path, --regex, --from-report (or --all)');
  if (given && o.all) throw new CriteriaError('--all cannot be combined with other criteria');
  const tests: ((v: LedgerVersion) => boolean)[] = [];
  const criteria: Record<string, unknown> = {};
  if (o.all) criteria.all = true;
  if (o.since !== undefined) {
    const since = parseDateTime(o.since, '--since');
    criteria.since = new Date(since).toISOString();
    tests.push((v) => v.lastSentAt !== null && v.lastSentAt >= since);
  }
  if (o.until !== undefined) {
    const until = parseDateTime(o.until, '--until');
    criteria.until = new Date(until).toISOString();
    tests.push((v) => v.firstSentAt !== null && v.firstSentAt <= until);
  }
  if (o.path !== undefined) {
    if (o.path === '') throw new CriteriaError('--path: empty glob');
    let isMatch: (path: string) => boolean;
    try {
      // strictBrackets: an unclosed '[' or '{' is refused, rather than a glob that resets nothing.
      isMatch = picomatch(o.path, { dot: true, strictBrackets: true });
    } catch (err) {
      throw new CriteriaError(`--path '${o.path}': not a valid glob: ${(err as Error).message}`);
    }
    criteria.path = o.path;
    tests.push((v) => isMatch(v.path));
  }
  if (o.regex !== undefined) {
    let re: RegExp;
    try {
      re = new RegExp(o.regex);
    } catch (err) {
      throw new CriteriaError(`--regex: ${(err as Error).message}`);
    }
    criteria.regex = o.regex;
    tests.push((v) => re.test(v.path));
  }
  let reportPaths: Set<string> | undefined;
  if (o.fromReport !== undefined) {
    const paths = readReportPaths(o.fromReport);
    reportPaths = paths;
    criteria.fromReport = o.fromReport;
    criteria.reportPaths = paths.size;
    tests.push((v) => paths.has(v.path));
  }
  return { select: (v) => tests.every((t) => t(v)), criteria, reportPaths };
}
