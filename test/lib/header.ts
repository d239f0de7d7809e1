import { HEADER_LAYOUT, HEADER_SIZE, crc32, type HeaderField } from '@diodesync/protocol';

/** A header field of a raw frame, where the protocol's layout table puts it. */
export function headerField(frame: Buffer, name: HeaderField): number {
  const { offset, size } = HEADER_LAYOUT[name];
  return frame.readUIntBE(offset, size);
}

/** Overwrites a header field (the CRCs then no longer match: see `fixCrcs`). */
export function setHeaderField(frame: Buffer, name: HeaderField, value: number): void {
  const { offset, size } = HEADER_LAYOUT[name];
  frame.writeUIntBE(value, offset, size);
}

/** Rewrites both CRCs, as an attacker on the link could, so a mutated frame gets past the codec to the layers behind it. */
export function fixCrcs(frame: Buffer): Buffer {
  if (frame.length < HEADER_SIZE) return frame;
  const length = headerField(frame, 'payloadLength');
  if (HEADER_SIZE + length <= frame.length) setHeaderField(frame, 'payloadCrc', crc32(frame.subarray(HEADER_SIZE, HEADER_SIZE + length)));
  setHeaderField(frame, 'headerCrc', crc32(frame.subarray(0, HEADER_LAYOUT.headerCrc.offset)));
  return frame;
}
