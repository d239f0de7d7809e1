export { UsageError, dashValuesGlued, parseOrUsage, stdioDashAsValue } from './cli-args.js';
export { DEFAULT_PORT, formatEndpoint, isMulticast, parseEndpoint, type Endpoint, type Scheme } from './endpoint.js';
export { keyFromFile, parseKeyText, readKeyFile } from './key-file.js';
export { formatLogLine, log, type LogFields } from './log.js';
export { durationOption, kbitRateOption, rateOption, sizeOption, wholeNumberOption } from './option-values.js';
export { commandLine, fail, helpWidth, runMain, type ExplainError } from './program.js';
export { bitRateText, formatBitRate, formatBytes, parseBitRate, parseByteSize, parseDuration } from './units.js';
export { packageVersion } from './version.js';
