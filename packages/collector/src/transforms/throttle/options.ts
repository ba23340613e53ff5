/** The schema lives in protocol, shared with the ingester, which validates documents before storing them. */
export { ThrottleOptionsSchema, type ThrottleOptions } from '@edge-telemetry/protocol';
