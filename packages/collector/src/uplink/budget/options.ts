/** The schema lives in protocol, shared with the ingester, which validates documents before storing them. */
export { BudgetOptionsSchema, type BudgetOptions } from '@edge-telemetry/protocol';
