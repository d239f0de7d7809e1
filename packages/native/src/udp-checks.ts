// Errors and argument checks shared by the native and the node:dgram batched sockets.
import { isIP } from 'node:net';
import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';
import type { UdpEndpoint, UdpError } from './udp-types.js';

/** A native error (errno, syscall, address?, port?, sent?) -> a Node-style one with code. */
export function systemError(err: unknown): unknown {
  const e = err as UdpError;
  if (!(e instanceof Error) || typeof e.errno !== 'number' || e.code !== undefined) return err;
  const [code, description] = getSystemErrorMap().get(e.errno) ?? [`E${-e.errno}`, `unknown error ${-e.errno}`];
  const host = e.address === undefined ? '' : e.address.includes(':') ? `[${e.address}]` : e.address;
  const where = e.address === undefined ? '' : ` ${host}${e.port === undefined ? '' : `:${e.port}`}`;
  const out: UdpError = new Error(`${code}: ${description}, ${e.syscall ?? '?'}${where}`);
  out.errno = e.errno;
  out.code = code;
  out.syscall = e.syscall;
  if (e.address !== undefined) out.address = e.address;
  if (e.port !== undefined) out.port = e.port;
  if (e.sent !== undefined) out.sent = e.sent;
  return out;
}

export const errnoError = (errno: number, syscall: string): UdpError =>
  systemError(Object.assign(new Error(syscall), { errno: -errno, syscall })) as UdpError;
export const closedError = (syscall: string): UdpError => errnoError(constants.errno.EBADF, syscall);

/** One rule on both paths (Linux alone would take `to` on a connected socket; node:dgram would not). */
export function checkDestination(connected: boolean, to: UdpEndpoint | undefined): void {
  if (connected && to) throw errnoError(constants.errno.EISCONN, 'sendmmsg');
  if (!connected && !to) throw errnoError(constants.errno.EDESTADDRREQ, 'sendmmsg');
}

export function checkAddress(what: string, address: string | undefined): void {
  if (address !== undefined && isIP(address.replace(/%.*$/, '')) === 0) {
    throw new TypeError(`${what} must be an IP address, not ${JSON.stringify(address)} (resolve names first)`);
  }
}

export const wholeTimeout = (ms: number | undefined): number =>
  ms === undefined || ms < 0 || ms === Infinity ? -1 : Math.min(Math.ceil(ms), 2 ** 31 - 1);
