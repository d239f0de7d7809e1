export { Sender, type SenderConfig, type SenderStats } from './sender.js';
export { FrameEmitter } from './frame-emitter.js';
export { TokenBucket } from './rate-limiter.js';
export { scanTree, type SourceFile, type TreeSnapshot } from './scan.js';
export { isTemporaryName, treeFilter } from './tree-filter.js';
export type { FrameSink } from './transport.js';
export { UdpSink } from './udp-sink.js';
