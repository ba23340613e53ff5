/** The schema lives in protocol, shared with the ingester, which validates documents before storing them. */
export { SenderOptionsSchema, type SenderOptions } from '@edge-telemetry/protocol';
