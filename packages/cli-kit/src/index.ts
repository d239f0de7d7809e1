export { UsageError, parseOrUsage, stdioDashAsValue } from './cli-args.js';
export { DEFAULT_PORT, formatEndpoint, isMulticast, parseEndpoint, type Endpoint, type Scheme } from './endpoint.js';
export { keyFromFile, parseKeyText, readKeyFile } from './key-file.js';
export { formatLogLine, log, type LogFields } from './log.js';
export { LOG_LEVELS, levelTable, logEnabled, setLogThreshold, thresholdFromFlags, type LogLevel } from './log-level.js';
export { PrometheusText, parseMetricsAddress, serveMetrics, type MetricsAddress } from './metrics-http.js';
export { commandLine, fail, runMain, type ExplainError } from './program.js';
export { defaultStateRoot, treeKey } from './state-dir.js';
export { formatBitRate, formatBytes, parseBitRate, parseByteSize } from './units.js';
