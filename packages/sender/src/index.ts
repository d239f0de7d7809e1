export { Sender, type SenderConfig, type SenderStats } from './sender.js';
export { FrameEmitter } from './framing/frame-emitter.js';
export { TokenBucket } from './transport/rate-limiter.js';
export { scanTree, type SourceFile, type TreeSnapshot } from './inventory/scan.js';
export { isTemporaryName, treeFilter } from './inventory/tree-filter.js';
export type { FrameSink } from './transport/frame-sink.js';
export { UdpSink } from './transport/udp-sink.js';
