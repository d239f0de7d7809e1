import { isIP } from 'node:net';

/** Port of an address given without one: BlindFTP's. */
export const DEFAULT_PORT = 36016;

/** capture: a packet socket on an interface (host = its name); pcap: a capture file (host = its path, '-' = stdin). */
export type Scheme = 'udp' | 'tcp' | 'tcp-listen' | 'stdio' | 'capture' | 'pcap';

export interface Endpoint {
  scheme: Scheme;
  host: string;
  port: number;
}

/**
 * Parses "udp://HOST:PORT", "tcp://[::1]:PORT", "tcp-listen://HOST:PORT" or "-" (stdio).
 * The port defaults to 36016. Throws a one-line RangeError naming what is wrong.
 */
export function parseEndpoint(text: string, allowed: readonly Scheme[]): Endpoint {
  const shown = allowed.map((s) => (s === 'stdio' ? '-' : s === 'pcap' ? 'pcap:FILE' : s === 'capture' ? 'capture://IFACE:PORT' : `${s}://HOST:PORT`)).join(', ');
  if (/^pcap:(?!\/\/)/i.test(text) && allowed.includes('pcap')) return parsePcap(text);
  if (text === '-') {
    if (!allowed.includes('stdio')) throw new RangeError(`'-' (stdio) is not supported here; use ${shown}`);
    return { scheme: 'stdio', host: '', port: 0 };
  }
  const match = /^([a-z-]+):\/\/(\[[^\]]+\]|[^:/\s]+)(?::(\d+))?\/?$/i.exec(text);
  if (!match) throw new RangeError(`invalid address '${text}': expected ${shown}`);
  const scheme = match[1]!.toLowerCase() as Scheme;
  if (!allowed.includes(scheme)) throw new RangeError(`unsupported scheme '${match[1]}' in '${text}': expected ${shown}`);
  let host = match[2]!;
  if (host.startsWith('[')) {
    host = host.slice(1, -1);
    if (isIP(host) !== 6) throw new RangeError(`invalid IPv6 address in '${text}'`);
  }
  const port = match[3] === undefined ? DEFAULT_PORT : Number(match[3]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`invalid port in '${text}' (0-65535)`);
  return { scheme, host, port };
}

/**
 * "pcap:FILE" or "pcap:FILE:PORT" (a capture file, '-' for stdin/stdout). A trailing ":DIGITS" is
 * the port, so a file whose own name ends so is written with the port after it ("pcap:a:1:36016").
 */
function parsePcap(text: string): Endpoint {
  const rest = text.slice('pcap:'.length);
  const match = /^(.+):(\d+)$/.exec(rest);
  const file = match ? match[1]! : rest;
  if (file === '') throw new RangeError(`'${text}' names no file: expected pcap:FILE (pcap:- for a pipe)`);
  const port = match ? Number(match[2]) : DEFAULT_PORT;
  if (port > 65535) throw new RangeError(`invalid port in '${text}' (0-65535)`);
  return { scheme: 'pcap', host: file, port };
}

export function formatEndpoint(e: Endpoint): string {
  if (e.scheme === 'stdio') return '-';
  if (e.scheme === 'pcap') return `pcap:${e.host}:${e.port}`;
  return `${e.scheme}://${isIP(e.host) === 6 ? `[${e.host}]` : e.host}:${e.port}`;
}

/** True for an IPv4 (224.0.0.0/4) or IPv6 (ff00::/8) multicast group address. */
export function isMulticast(address: string): boolean {
  if (isIP(address) === 6) return address.toLowerCase().startsWith('ff');
  const first = Number(address.split('.')[0]);
  return isIP(address) === 4 && first >= 224 && first <= 239;
}
