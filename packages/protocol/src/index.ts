// The package's surface: what the sender, the receiver, cli-kit, the tests and the benches use.
// A name not listed here is internal to the wire format's implementation.
export {
  FLAG_AUTHENTICATED, FLAG_ENCRYPTED, FrameType, HEADER_LAYOUT, HEADER_SIZE, IP_UDP_OVERHEAD, MAX_DATAGRAM, MAX_PAYLOAD, TAG_SIZE,
  type HeaderField,
} from './constants.js';
export { crc32, crcPath } from './crc.js';
export { ProtocolError } from './errors.js';
export {
  decodeDatagram, encodeFrame, encodeHeaderAs, frameLength, payloadMatches, readHeader, writeFrameAs,
  type DropReason, type Frame, type FrameFields, type FrameHeader,
} from './superframe.js';
export { StreamDeframer } from './deframer.js';
export {
  chunkCountFor, comparePaths, decodeChange, decodeHeartbeat, decodeManifest, decodeObjectHeader,
  encodeChange, encodeHeartbeat, encodeManifest, encodeObjectHeader, hashKnown, inPieceRange, MAX_MANIFEST_PART_ENTRIES,
  type Change, type HashedHeader, type Heartbeat, type Manifest, type ManifestFile, type ManifestScope, type ObjectHeader,
} from './messages.js';
export {
  FEC_MAX_K, fecBlockCount, fecBlockRange, fecEnabled, fecEncode, fecParityCount, fecRebuild, fecShardSize, formatFec, parseFec,
  type FecLayout, type ParityEncoder,
} from './fec.js';
export { FrameAuthenticator, MIN_KEY_BYTES, openFrame, sealFrame } from './auth.js';
export { fsPath, hasEscapedBytes, pathFromBytes, pathToBytes, printablePath, walkOrderKey } from './path-bytes.js';
export { reportedPaths, type ReceiverReport, type ReportEntry, type Streamed, type SyncReport } from './report.js';
export {
  MAX_CHANNEL_NAME, STREAM_RECORD_FIXED, STREAM_SENT_AT_OFFSET, StreamKind, channelNameProblem, decodeStreamRecord, encodeStreamRecord, rebuildStreamBlock,
  streamBlockParity, streamRecordOverhead, type StreamRecord,
} from './stream.js';
