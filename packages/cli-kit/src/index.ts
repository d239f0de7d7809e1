export { UsageError, parseOrUsage, stdioDashAsValue } from './cli-args.js';
export { DEFAULT_PORT, formatEndpoint, isMulticast, parseEndpoint, type Endpoint, type Scheme } from './endpoint.js';
export { keyFromFile, parseKeyText, readKeyFile } from './key-file.js';
export { formatLogLine, log, type LogFields } from './log.js';
export { commandLine, fail, runMain, type ExplainError } from './program.js';
export { formatBitRate, formatBytes, parseBitRate, parseByteSize } from './units.js';
export { MAX_CHANNELS, parseChannelSpec, parseChannelSpecs, type ChannelSpec } from './channel-spec.js';
