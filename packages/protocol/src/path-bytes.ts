/*
 * File names are bytes. Linux allows any byte but '/' and NUL in a name, and a name need not be
 * valid UTF-8; the mirror must hold exactly those bytes. Inside the programs a path is a JS
 * string: valid UTF-8 decodes as usual, and each byte of an invalid sequence becomes the lone
 * surrogate U+DC80..U+DCFF (Python's "surrogateescape"). Valid UTF-8 never decodes to a lone
 * surrogate, so the mapping is reversible. On the wire such a path travels as raw bytes (msgpack
 * bin), every other path as a string; at a file-system call it becomes a Buffer again.
 */

const ESCAPE_BASE = 0xdc00;
const strict = new TextDecoder('utf-8', { fatal: true });

/** True if `s` holds a lone surrogate: escaped bytes (a name that is not valid UTF-8). */
export function hasEscapedBytes(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff && isLowSurrogate(s.charCodeAt(i + 1))) i++; // a pair: one character beyond U+FFFF
    else return true;
  }
  return false;
}

const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/** The path string of raw name bytes. */
export function pathFromBytes(bytes: Uint8Array): string {
  try {
    return strict.decode(bytes);
  } catch {
    return decodeEscaping(bytes);
  }
}

/** The raw bytes of a path string (the inverse of pathFromBytes). */
export function pathToBytes(s: string): Buffer {
  if (!hasEscapedBytes(s)) return Buffer.from(s, 'utf8');
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && isLowSurrogate(s.charCodeAt(i + 1))) i++;
    else if (c >= 0xdc80 && c <= 0xdcff) {
      out.push(Buffer.from(s.slice(start, i), 'utf8'), Buffer.of(c - ESCAPE_BASE));
      start = i + 1;
    }
  }
  out.push(Buffer.from(s.slice(start), 'utf8'));
  return Buffer.concat(out);
}

/**
 * What to hand a file-system call for a path string: the string itself, or its bytes where it
 * holds escaped bytes (Node would otherwise write U+FFFD for each).
 */
export function fsPath(s: string): string | Buffer {
  return hasEscapedBytes(s) ? pathToBytes(s) : s;
}

/** How a path goes on the wire: a string where it is valid UTF-8, the raw bytes where not. */
export function pathToWire(s: string): string | Buffer {
  return hasEscapedBytes(s) ? pathToBytes(s) : s;
}

/**
 * A path from the wire, or undefined if it is neither a string nor bytes. A string must not
 * hold surrogates: only bytes may stand for bytes, so that one name has one form.
 */
export function pathFromWire(v: unknown): string | undefined {
  if (typeof v === 'string') return hasEscapedBytes(v) ? undefined : v;
  if (v instanceof Uint8Array) return pathFromBytes(v);
  return undefined;
}

/** A path for people (logs, messages): escaped bytes shown as \xNN. */
export function printablePath(s: string): string {
  if (!hasEscapedBytes(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && isLowSurrogate(s.charCodeAt(i + 1))) out += s[i]! + s[++i]!;
    else if (c >= 0xdc80 && c <= 0xdcff) out += `\\x${(c - ESCAPE_BASE).toString(16)}`;
    else out += s[i];
  }
  return out;
}

/** Decodes UTF-8, escaping each byte that does not start a valid sequence. */
function decodeEscaping(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const length = validSequenceLength(bytes, i);
    if (length === 0) {
      out += String.fromCharCode(ESCAPE_BASE + bytes[i]!);
      i++;
    } else {
      out += Buffer.from(bytes.buffer, bytes.byteOffset + i, length).toString('utf8');
      i += length;
    }
  }
  return out;
}

/** Length of the valid UTF-8 sequence at `i` (no overlong forms, no surrogates, <= U+10FFFF), or 0. */
function validSequenceLength(b: Uint8Array, i: number): number {
  const b0 = b[i]!;
  if (b0 < 0x80) return 1;
  const cont = (j: number, lo = 0x80, hi = 0xbf) => i + j < b.length && b[i + j]! >= lo && b[i + j]! <= hi;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if (b0 === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (b0 >= 0xe1 && b0 <= 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (b0 === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (b0 >= 0xf1 && b0 <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (b0 === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/**
 * The key a directory's entry sorts by so that a depth-first walk yields paths in wire byte order
 * (the manifest's order): its name's bytes, a directory's with '/' after them (`a-b` < `a/b` < `a0`).
 */
export function walkOrderKey(name: Buffer, isDirectory: boolean): Buffer {
  return isDirectory ? Buffer.concat([name, Buffer.of(0x2f)]) : name;
}
