import { createCipheriv, createDecipheriv, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { FLAG_AUTHENTICATED, FLAG_ENCRYPTED, HEADER_LAYOUT, HEADER_SIZE, TAG_SIZE } from './constants.js';
import { encodeHeader, type Frame, type FrameFields } from './superframe.js';

/** Shortest pre-shared key accepted, in bytes. */
export const MIN_KEY_BYTES = 32;

/** Bytes of the header that GCM authenticates as associated data: everything but the two CRCs, which cover the ciphertext. */
const AAD_BYTES = HEADER_LAYOUT.payloadCrc.offset;

/**
 * Frame authentication with a pre-shared key. The PSK itself is never used directly: HKDF
 * gives one key for HMAC, and one AES-256-GCM key per sender session (salt = session id), so
 * the GCM nonce (session id || sequence number, 96 bits) never repeats under one key.
 */
export class FrameAuthenticator {
  private readonly macKey: Buffer;
  private readonly sessionKeys = new Map<number, Buffer>();

  constructor(private readonly psk: Buffer) {
    if (psk.length < MIN_KEY_BYTES) throw new RangeError(`key must be at least ${MIN_KEY_BYTES} bytes`);
    this.macKey = Buffer.from(hkdfSync('sha256', psk, Buffer.alloc(0), 'diodesync v1 frame hmac', 32));
  }

  /** Truncated HMAC-SHA-256 over header and payload as sent. */
  tag(headerAndPayload: Uint8Array): Buffer {
    return createHmac('sha256', this.macKey).update(headerAndPayload).digest().subarray(0, TAG_SIZE);
  }

  verify(headerAndPayload: Uint8Array, tag: Uint8Array): boolean {
    return tag.length === TAG_SIZE && timingSafeEqual(this.tag(headerAndPayload), tag);
  }

  /** Encrypts a payload; the header that will carry it is not needed yet (see `seal`). */
  encrypt(sessionId: number, sequence: number, plaintext: Uint8Array): { ciphertext: Buffer; finish(header: Uint8Array): Buffer } {
    const cipher = createCipheriv('aes-256-gcm', this.sessionKey(sessionId), nonce(sessionId, sequence), { authTagLength: TAG_SIZE });
    // GCM's ciphertext does not depend on the associated data, but Node wants the AAD first:
    // the caller needs the ciphertext to build the header (its CRC), so the tag comes from a second pass.
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return {
      ciphertext,
      finish: (header) => {
        const again = createCipheriv('aes-256-gcm', this.sessionKey(sessionId), nonce(sessionId, sequence), { authTagLength: TAG_SIZE });
        again.setAAD(header.subarray(0, AAD_BYTES));
        again.update(plaintext);
        again.final();
        return again.getAuthTag();
      },
    };
  }

  /** The plaintext, or undefined if the tag does not verify. */
  decrypt(header: Uint8Array, sessionId: number, sequence: number, ciphertext: Uint8Array, tag: Uint8Array): Buffer | undefined {
    if (tag.length !== TAG_SIZE || header.length < HEADER_SIZE) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.sessionKey(sessionId), nonce(sessionId, sequence), { authTagLength: TAG_SIZE });
      decipher.setAAD(header.subarray(0, AAD_BYTES));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    } catch {
      return undefined;
    }
  }

  private sessionKey(sessionId: number): Buffer {
    let key = this.sessionKeys.get(sessionId);
    if (!key) {
      const salt = Buffer.alloc(4);
      salt.writeUInt32BE(sessionId >>> 0);
      key = Buffer.from(hkdfSync('sha256', this.psk, salt, 'diodesync v1 aes-256-gcm', 32));
      // Forged session ids must not grow this without limit.
      if (this.sessionKeys.size >= 16) this.sessionKeys.delete(this.sessionKeys.keys().next().value!);
      this.sessionKeys.set(sessionId, key);
    }
    return key;
  }
}

function nonce(sessionId: number, sequence: number): Buffer {
  const n = Buffer.alloc(12);
  n.writeUInt32BE(sessionId >>> 0, 0);
  n.writeBigUInt64BE(BigInt(sequence), 4);
  return n;
}

/**
 * Builds the wire pieces of one frame: [header, payload, tag], or [header, payload] without a key.
 * With `encrypt`, the payload goes out as ciphertext and the tag is GCM's.
 */
export function sealFrame(fields: FrameFields, payload: Buffer, auth?: FrameAuthenticator, encrypt = false): Buffer[] {
  if (!auth) return [encodeHeader(fields, payload), payload];
  const flags = (fields.flags ?? 0) | FLAG_AUTHENTICATED | (encrypt ? FLAG_ENCRYPTED : 0);
  if (encrypt) {
    const sealed = auth.encrypt(fields.sessionId, fields.sequence, payload);
    const header = encodeHeader({ ...fields, flags }, sealed.ciphertext);
    return [header, sealed.ciphertext, sealed.finish(header)];
  }
  const header = encodeHeader({ ...fields, flags }, payload);
  return [header, payload, auth.tag(Buffer.concat([header, payload]))];
}

export type OpenResult = { ok: true; frame: Frame } | { ok: false; reason: 'unauthenticated' | 'bad-tag' | 'unencrypted' };

/**
 * Checks a decoded frame against the keys (two during a key rotation) before anything reads
 * its payload; decrypts it if it is encrypted. An untagged frame is refused.
 */
export function openFrame(frame: Frame, keys: readonly FrameAuthenticator[], requireEncryption = false): OpenResult {
  const { header: h, tag, signed } = frame;
  if (!(h.flags & FLAG_AUTHENTICATED) || !tag || !signed) return { ok: false, reason: 'unauthenticated' };
  if (h.flags & FLAG_ENCRYPTED) {
    for (const key of keys) {
      const plain = key.decrypt(signed, h.sessionId, h.sequence, frame.payload, tag);
      if (plain) return { ok: true, frame: { header: h, payload: plain } };
    }
    return { ok: false, reason: 'bad-tag' };
  }
  if (requireEncryption) return { ok: false, reason: 'unencrypted' };
  for (const key of keys) if (key.verify(signed, tag)) return { ok: true, frame: { header: h, payload: frame.payload } };
  return { ok: false, reason: 'bad-tag' };
}
