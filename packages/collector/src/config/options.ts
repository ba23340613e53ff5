// The schema lives in protocol: the ingester validates configuration documents against it too.
export { CollectorConfigSchema, collectorConfigSpec, type CollectorConfig } from '@edge-telemetry/protocol';
