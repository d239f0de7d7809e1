export { Receiver, type ReceiverConfig } from './receiver.js';
export { DestTree, UnsafeDestination } from './placement/dest-tree.js';
export { SyncTracker, type SyncReport } from './placement/sync-tracker.js';
export { unsafePathReason, isInside } from './placement/paths.js';
export { listenUdp } from './ingest/udp-source.js';
export { writeReport } from './operations/report.js';
export type { ReceiverCounters } from './counters.js';
