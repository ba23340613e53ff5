import { resolveOptions } from '../../config/resolve-options.js';
import { SpanSummaryOptionsSchema, type SpanSummaryOptions } from '@edge-telemetry/protocol';

// The schema lives in protocol, shared with the ingester, which validates documents before storing them.
export { SpanSummaryOptionsSchema, type SpanSummaryOptions } from '@edge-telemetry/protocol';

export function resolveSpanSummaryOptions(partial?: Partial<SpanSummaryOptions>): SpanSummaryOptions {
  return resolveOptions(SpanSummaryOptionsSchema, partial);
}
