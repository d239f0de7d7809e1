import { readFileSync, statSync } from 'node:fs';
import { FrameAuthenticator, MIN_KEY_BYTES } from '@diodesync/protocol';
import { UsageError } from './cli-args.js';

/**
 * Parses the text of a key file: at least 32 bytes, written as hex or base64 (surrounding
 * white space ignored). Throws an Error that says what is wrong, never echoing the key.
 */
export function parseKeyText(text: string): Buffer {
  const t = text.trim();
  let key: Buffer;
  if (/^[0-9a-fA-F]+$/.test(t) && t.length % 2 === 0) key = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) key = Buffer.from(t, 'base64');
  else throw new Error('key file must hold the key as hex or base64 text');
  if (key.length < MIN_KEY_BYTES) throw new Error(`key is ${key.length} bytes; at least ${MIN_KEY_BYTES} are needed (head -c 32 /dev/urandom | base64)`);
  return key;
}

/**
 * The key of a key file, given its permission bits and text (`readKeyFile` reads them).
 * A key others can read is no secret: refuse it.
 */
export function keyFromFile(file: string, mode: number, text: string): FrameAuthenticator {
  if (mode & 0o077) throw new Error(`key file '${file}' is readable or writable by others: chmod 600 ${file}`);
  try {
    return new FrameAuthenticator(parseKeyText(text));
  } catch (err) {
    throw new Error(`key file '${file}': ${(err as Error).message}`);
  }
}

/** Reads a pre-shared key file; whatever is wrong with it (absent, unreadable, readable by others, not a key) is a UsageError. */
export function readKeyFile(file: string): FrameAuthenticator {
  try {
    return keyFromFile(file, statSync(file).mode, readFileSync(file, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UsageError(e.code ? `cannot read key file '${file}': ${e.code}` : e.message);
  }
}
