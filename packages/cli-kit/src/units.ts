const DECIMAL: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 };
const BINARY: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/**
 * Units are never guessed: `b` is a bit and `B` a byte, as on every data sheet, so "10MB" for a
 * rate is refused (with the rate in bits it probably meant), never read as 10 Mb/s.
 */
const BITS = /^(b|bits?|bps|b\/s|bits?\/s)$/;
const BYTES = /^(B|Bps|B\/s|[Bb]ytes?|[Bb]ytes?\/s)$/;
const BINARY_BYTES = /^(iB|iBps|iB\/s)$/;

interface Quantity {
  value: number;
  /** The multiplier's letter (k, m, g, t), lower case; '' for none. */
  prefix: string;
  /** What follows the multiplier, as written. */
  unit: string;
}

/** Splits "10.5MB" into 10.5, 'm', 'B'. Throws a RangeError that says what is wrong with the text. */
function quantity(input: string | number, expected: string): Quantity {
  const text = String(input).trim();
  if (text === '') throw new RangeError(`empty; expected ${expected}`);
  const match = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)([a-z/]*)$/i.exec(text);
  if (!match) throw new RangeError(`'${input}' is not ${expected}`);
  if (match[1] === '-') throw new RangeError(`'${input}' is negative`);
  return { value: Number(match[2]), prefix: match[3]!.toLowerCase(), unit: match[4]! };
}

/** 80e6 -> "80m": a rate written as the CLIs take it. */
export function bitRateText(bits: number): string {
  for (const [suffix, scale] of [['g', 1e9], ['m', 1e6], ['k', 1e3]] as const) {
    if (bits >= scale) return `${Number((bits / scale).toFixed(3))}${suffix}`;
  }
  return String(Number(bits.toFixed(3)));
}

/**
 * "800m" -> 800e6 bits per second (decimal suffixes, as link speeds are quoted; "800Mb",
 * "800mbps" too). Bytes ("10MB", "10MiB/s") are refused with the rate in bits they stand for.
 */
export function parseBitRate(text: string | number): number {
  const expected = 'bits per second: a number with an optional k, m or g suffix';
  const { value, prefix, unit } = quantity(text, expected);
  const inBits = value * DECIMAL[prefix]!;
  if (BYTES.test(unit) || BINARY_BYTES.test(unit)) {
    const bytes = value * (BINARY_BYTES.test(unit) ? BINARY[prefix]! : DECIMAL[prefix]!);
    throw new RangeError(`'${text}' is bytes per second, and rates are in bits per second: did you mean ${bitRateText(bytes * 8)}?`);
  }
  if (unit !== '' && !BITS.test(unit)) throw new RangeError(`'${text}': unknown unit '${unit}'; expected ${expected}`);
  if (!Number.isFinite(inBits)) throw new RangeError(`'${text}' is not ${expected}`);
  if (inBits <= 0) throw new RangeError(`must be above zero, got '${text}'`);
  return inBits;
}

/**
 * "64m" -> 67108864 bytes (binary suffixes, as memory and disk are quoted: 64m = 64M = 64MB =
 * 64MiB). A lower-case b is a bit, so "64mb" is refused rather than guessed.
 */
export function parseByteSize(text: string | number): number {
  const expected = 'a size in bytes: a number with an optional k, m, g or t suffix (1k = 1024)';
  const { value, prefix, unit } = quantity(text, expected);
  if (BITS.test(unit)) throw new RangeError(`'${text}': b is a bit, and sizes are in bytes: did you mean ${value}${prefix}?`);
  if (unit !== '' && !/^(B|iB)$/.test(unit) && !/^bytes?$/i.test(unit)) throw new RangeError(`'${text}': unknown unit '${unit}'; expected ${expected}`);
  const bytes = Math.floor(value * BINARY[prefix]!);
  if (!Number.isFinite(bytes)) throw new RangeError(`'${text}' is not ${expected}`);
  return bytes;
}

const DURATION_UNITS: Record<string, number> = { ms: 1e-3, s: 1, m: 60, min: 60, h: 3600, d: 86400 };

/**
 * A duration in `unit` (ms, s, h or d): a bare number is in that unit, or give one of ms, s,
 * m (minutes), min, h, d ("90s", "5m", "2h"). Negative, empty and non-numbers are refused.
 */
export function parseDuration(text: string | number, unit: 'ms' | 's' | 'h' | 'd'): number {
  const expected = `a duration: a number of ${UNIT_NAMES[unit]}, or with a unit (ms, s, m, h, d)`;
  const trimmed = String(text).trim();
  if (trimmed === '') throw new RangeError(`empty; expected ${expected}`);
  const match = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)$/i.exec(trimmed);
  if (!match) throw new RangeError(`'${text}' is not ${expected}`);
  if (match[1] === '-') throw new RangeError(`'${text}' is negative`);
  const given = match[3]!.toLowerCase() || unit;
  const seconds = DURATION_UNITS[given];
  if (seconds === undefined) throw new RangeError(`'${text}': unknown unit '${match[3]}'; expected ${expected}`);
  return (Number(match[2]) * seconds) / DURATION_UNITS[unit]!;
}

const UNIT_NAMES = { ms: 'milliseconds', s: 'seconds', h: 'hours', d: 'days' } as const;

export function formatBitRate(bitsPerSecond: number): string {
  for (const [suffix, scale] of [['G', 1e9], ['M', 1e6], ['k', 1e3]] as const) {
    if (bitsPerSecond >= scale) return `${(bitsPerSecond / scale).toFixed(2)} ${suffix}b/s`;
  }
  return `${bitsPerSecond.toFixed(0)} b/s`;
}

export function formatBytes(bytes: number): string {
  for (const [suffix, scale] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= scale) return `${(bytes / scale).toFixed(1)} ${suffix}`;
  }
  return `${bytes} B`;
}
