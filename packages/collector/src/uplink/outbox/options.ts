/** The schema lives in protocol, shared with the ingester, which validates documents before storing them. */
export { OutboxOptionsSchema, type OutboxOptions } from '@edge-telemetry/protocol';
