/** The schema lives in protocol, shared with the ingester, which validates documents before storing them. */
export { FilterOptionsSchema, type FilterOptions } from '@edge-telemetry/protocol';
