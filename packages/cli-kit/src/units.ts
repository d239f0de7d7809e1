const DECIMAL: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 };
const BINARY: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

function parseWithSuffix(text: string, what: string, multipliers: Record<string, number>, unit: RegExp): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(.*)$/i.exec(String(text));
  const rest = match?.[3]?.trim() ?? '';
  if (!match || (rest !== '' && !unit.test(rest))) {
    throw new RangeError(`invalid ${what} '${text}' (expected a number with an optional k, m or g suffix)`);
  }
  const value = Number(match[1]) * multipliers[match[2]!.toLowerCase()]!;
  if (!Number.isFinite(value)) throw new RangeError(`invalid ${what} '${text}'`);
  return value;
}

/** "800m" -> 800e6 bits per second (decimal suffixes, as link speeds are quoted). */
export function parseBitRate(text: string | number): number {
  const bits = parseWithSuffix(String(text), 'rate', DECIMAL, /^(b|bit|bps|bit\/s)$/i);
  if (bits <= 0) throw new RangeError(`rate must be above zero, got '${text}'`);
  return bits;
}

/** "64m" -> 67108864 bytes (binary suffixes, as memory and disk are quoted). */
export function parseByteSize(text: string | number): number {
  return Math.floor(parseWithSuffix(String(text), 'size', BINARY, /^(b|ib|i?b)$/i));
}

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
