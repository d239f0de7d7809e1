/** A payload that does not decode to a valid message: the frame is dropped and counted. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}
