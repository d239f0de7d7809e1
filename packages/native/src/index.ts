// @diodesync/native: the project's Node-API addon, with a pure-Node fallback
// for every function. `nativeIo` says which runs; DIODESYNC_NATIVE=0 forces the fallbacks.
export { nativeIo, type NativeIo } from './binding.js';
export { setFileTimes, setFileTimesFallback } from './times.js';
export { startWriteback, writebackPath } from './writeback.js';
export { encodeParity, parityPath } from './parity.js';
export { crc32Span, crc32Path } from './crc32.js';
export {
  openUdp, udpIo, udpIoFor, parseUdpIo, forEachDatagram, UDP_IO_PREFERENCES, SPILL_STRIDE,
  type BatchSocket, type BatchSocketIo, type OpenUdpOptions, type UdpEndpoint, type UdpError, type UdpIo, type UdpIoMode, type UdpIoPreference,
} from './udp.js';
export { captureIo, openCapture, type CaptureOptions, type CaptureSocket } from './capture.js';
export { filterWords, udpPortFilter, type BpfInstruction } from './capture-filter.js';
