/** The schema lives in protocol, shared with the ingester, which validates documents before storing them. */
export { DedupOptionsSchema, type DedupOptions } from '@edge-telemetry/protocol';
