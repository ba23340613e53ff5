export { createIngester, type Ingester, type IngesterDeps } from './ingester.js';
export {
  IngesterConfigSchema,
  type IngesterConfig,
  type WriterConfig,
  type RetentionConfig,
} from './config/options.js';
export { loadConfig, resolveConfig, describeOptions, envName, ENV_PREFIX, ingesterConfigSpec } from './config/load.js';
export { createClickHouseClient, type ClickHouseClientOptions, type StorageConnection } from './storage/client.js';
export { migrate, type MigrateResult } from './storage/migrate.js';
export { MIGRATIONS, type Migration } from './storage/migrations/index.js';
export { TABLES, COLUMNS } from './storage/tables.js';
export { batchToRows, type BatchMeta } from './storage/rows.js';
export { insertText, rowsToText } from './storage/insert.js';
export { createWriter, type Writer, type WriterState, type SubmitOutcome } from './writer/writer.js';
export { createRouter, type Router, type RouterCounters } from './consumer/router.js';
export { buildApi } from './api/app.js';
export { API_LIMITS } from './api/routes/telemetry.js';
export { listNodes, metricSeries, searchLogs, topTemplates, fleetOverview } from './api/queries.js';
export { IngesterError, IngesterErrorCodes, type IngesterErrorCode } from './errors.js';
