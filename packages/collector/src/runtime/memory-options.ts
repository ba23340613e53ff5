/** The schema lives in protocol, shared with the ingester, which validates documents before storing them. */
export { MemoryOptionsSchema } from '@edge-telemetry/protocol';
