import { UsageError } from './cli-args.js';
import { parseBitRate, parseByteSize, parseDuration } from './units.js';

/**
 * Option values checked the same way in every CLI: a mistake is one line that names the option,
 * repeats what was given, says what is wrong and shows a value that works.
 */

function checked<T>(option: string, example: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    const reason = (err as Error).message;
    // A suggestion ("did you mean 80m?") already shows a value that works.
    throw new UsageError(`${option}: ${reason}${reason.includes('did you mean') ? '' : `; e.g. ${option} ${example}`}`);
  }
}

/** Bits per second ("800m"); see parseBitRate. */
export function rateOption(option: string, value: unknown, example = '800m'): number {
  return checked(option, example, () => parseBitRate(value as string));
}

/** kbit/s as a bare number, BlindFTP's -l. */
export function kbitRateOption(option: string, value: unknown, example = '800000'): number {
  return checked(option, example, () => {
    const text = String(value).trim();
    if (!/^\d+(\.\d+)?$/.test(text)) throw new RangeError(`'${value}' is not a number of kbit/s`);
    return parseBitRate(`${text}k`);
  });
}

/** Bytes ("64m"); see parseByteSize. */
export function sizeOption(option: string, value: unknown, example = '64m'): number {
  return checked(option, example, () => parseByteSize(value as string));
}

/** A duration in `unit` ("90", "5m"; see parseDuration), above zero when `positive`. */
export function durationOption(option: string, value: unknown, unit: 'ms' | 's' | 'h' | 'd', example: string, positive = false): number {
  return checked(option, example, () => {
    const duration = parseDuration(value as string, unit);
    if (positive && !(duration > 0)) throw new RangeError(`must be above zero, got '${value}'`);
    return duration;
  });
}

/** A whole number from yargs (NaN or null when it was not a number), within [min, max]. */
export function wholeNumberOption(option: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER, example = String(min)): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`${option}: expected a whole number ${range}; e.g. ${option} ${example}`);
  }
  return value;
}
