/**
 * Table names and the column order the writer inserts in. Names follow the OpenTelemetry
 * ClickHouse exporter (PascalCase, Timestamp/TimeUnix/StartTimeUnix, SeverityText, Body,
 * LogAttributes, MetricName, Count/Sum/Min/Max) where the meaning is the same.
 */
export const TABLES = {
  metrics: 'et_metric_summaries',
  /** Hourly rollup (migration 6; the version-2 table it replaced was et_metric_summaries_1h). */
  metricsHourly: 'et_metric_summaries_hourly',
  logs: 'et_logs',
  templates: 'et_log_templates',
  events: 'et_container_events',
  containers: 'et_containers',
  health: 'et_node_health',
  drops: 'et_drops',
  status: 'et_node_status',
  ledger: 'et_batches',
  deadLetters: 'et_dead_letters',
  /** Keyframe bodies that later batches of the same node are compressed against (migration 5). */
  references: 'et_batch_references',
  migrations: 'schema_migrations',
} as const;

/** Tables the writer fills from a batch, in insert order: the ledger comes last on purpose. */
export const BATCH_TABLES = ['metrics', 'logs', 'templates', 'events', 'containers', 'health', 'drops', 'ledger'] as const;
export type BatchTable = (typeof BATCH_TABLES)[number];

export const COLUMNS = {
  metrics: ['NodeName', 'ContainerName', 'MetricName', 'StartTimeUnix', 'TimeUnix', 'Count', 'Sum', 'Min', 'Max', 'Last', 'Gaps', 'Resets', 'SketchZeros', 'SketchOffset', 'SketchCounts', 'SketchNegOffset', 'SketchNegCounts'],
  logs: ['Timestamp', 'NodeName', 'ContainerName', 'SeverityText', 'SeverityNumber', 'Body', 'Stream', 'Repeat', 'TemplateId', 'LogAttributes'],
  templates: ['NodeName', 'ContainerName', 'TemplateId', 'Template', 'SeverityNumber', 'Count', 'FirstSeen', 'LastSeen', 'Samples'],
  events: ['Timestamp', 'NodeName', 'ContainerName', 'EventKind', 'EventAttributes'],
  containers: ['SeenAt', 'NodeName', 'ContainerId', 'ContainerName', 'Image', 'State', 'Labels'],
  health: ['Timestamp', 'ReceivedAt', 'NodeName', 'UplinkBytes', 'RawBytes', 'QueueBatches', 'QueueBytes', 'BudgetLeftBytes', 'DegradeLevel', 'CpuPct', 'RssBytes', 'AgentVersion'],
  drops: ['Timestamp', 'NodeName', 'Stage', 'Reason', 'ContainerName', 'Count'],
  ledger: ['NodeName', 'Epoch', 'Seq', 'ReceivedAt', 'NodeSentAt', 'ClockSkewMs', 'WindowStart', 'WindowEnd', 'Rows', 'WireBytes', 'IngesterId'],
  status: ['NodeName', 'State', 'NodeTime', 'ReceivedAt', 'AgentVersion'],
  deadLetters: ['ReceivedAt', 'Topic', 'NodeName', 'ReasonCode', 'Detail', 'PayloadBytes', 'PayloadBase64', 'IngesterId'],
  references: ['NodeName', 'Epoch', 'Seq', 'BodyBase64', 'StoredAt'],
} as const;
