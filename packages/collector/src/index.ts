export type * from './sources/types.js';
export { createCollector, type Collector, type CollectorParts } from './collector.js';
export { buildCollector, AGENT_VERSION, type RunningCollector, type SharedParts } from './build-collector.js';
export type { Delivery } from './uplink/sender/uplink.js';
export { CollectorConfigSchema, collectorConfigSpec, type CollectorConfig } from './config/options.js';
export { loadCollectorConfig, defaultNodeId } from './config/load.js';
export { createJsonLogger, type Logger } from './runtime/logger.js';
export { COMPILER_FLAGS, launchEnv, launchFlags, v8HeapFlags } from './runtime/memory-sizing.js';
export { createPrng, seedFrom } from './sources/demo/prng.js';
export { loadDemoSeries } from './sources/demo/load-series.js';
export { nodeProcessProbe, type ProcessProbe } from './self/process-usage.js';
export type { DemoSeries } from './sources/demo/demo-metric-source.js';
export { readCorpusLines, corpusPicker, type CorpusDataset } from './sources/demo/corpus-lines.js';
export { TemplateMiner, type TemplateMatch } from './transforms/templates/miner.js';
export {
  templateMinerOptions,
  TemplateMinerOptionsSchema,
  type TemplateMinerOptions,
} from './transforms/templates/options.js';
export { groupingAccuracy } from './transforms/templates/grouping-accuracy.js';
export { parsingAccuracy, normalizeTemplate } from './transforms/templates/parsing-accuracy.js';
export {
  readLoghub,
  scoreDataset,
  loghubLeaveOneOut,
  groupingGrid,
  type LoghubDataset,
  type DatasetScore,
  type LoghubLeaveOneOut,
} from './transforms/templates/loghub.js';
export { parseLine, type ParsedLog } from './transforms/parse/parse-line.js';
export { messageStart } from './transforms/parse/header.js';
export { MultilineJoiner } from './transforms/parse/multiline.js';
export { Redactor, type RedactionCounts } from './transforms/redact/redactor.js';
export { redactOptions } from './transforms/redact/options.js';
export {
  LogPipeline,
  type LogPipelineDeps,
  type LogPipelineWindow,
  type LogPipelineStats,
  type LogRecord,
  type DebugWindow,
  type DebugUse,
} from './transforms/logs/pipeline.js';
export { logPipelineOptions, LogPipelineOptionsSchema, type LogPipelineOptions } from './transforms/logs/options.js';
export { CollectorError, CollectorErrorCodes, type CollectorErrorCode } from './errors.js';
export { LogFileSource } from './sources/logfiles/log-file-source.js';
export {
  logFileSourceOptions,
  LogFileSourceOptionsSchema,
  type LogFileSourceOptions,
} from './sources/logfiles/options.js';
export { parseDockerJsonLine, parseCriLine, type LogFileEntry } from './sources/logfiles/formats.js';
export { cutMessage, type MessageFormat } from './sources/logfiles/cut-message.js';
export { LogStore, type LogQuery, type LogStoreStats } from './store/log-store.js';
export { logStoreOptions, LogStoreOptionsSchema, type LogStoreOptions } from './store/options.js';
export type { StoredLogRecord } from './store/record-codec.js';
export {
  PullResponder,
  PullOptionsSchema,
  pullOptions,
  formatPulledLine,
  chunkLines,
  type PullLink,
  type PullStore,
  type PullResponderStats,
  type PullOptions,
} from './pull/index.js';
export { createConfigAgent, COALESCE_MS, type ConfigAgent, type ConfigAgentDeps } from './fleet/config-agent.js';
export { applyRemoteOptions, effectiveHash, startingConfig } from './fleet/remote-config.js';
export { readAppliedRemote, writeAppliedRemote, STATE_FILE, type AppliedRemote } from './fleet/state-file.js';
