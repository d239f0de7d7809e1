export { Receiver, type ReceiverConfig } from './receiver.js';
export { DestTree, UnsafeDestination } from './dest-tree.js';
export { SyncTracker, type SyncReport } from './sync-tracker.js';
export { unsafePathReason, isInside } from './paths.js';
export { listenUdp } from './udp-source.js';
export { writeReport } from './report.js';
export type { ReceiverCounters } from './counters.js';
