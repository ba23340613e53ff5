import { resolveOptions } from '../../config/resolve-options.js';
import type { IngestOptions } from '../../transforms/downsample/downsampler.js';
import { OtlpReceiverOptionsSchema, type OtlpReceiverOptions } from '@edge-telemetry/protocol';

// The schema lives in protocol, shared with the ingester, which validates documents before storing them.
export { OtlpReceiverOptionsSchema, type OtlpReceiverOptions } from '@edge-telemetry/protocol';

export function resolveOtlpReceiverOptions(partial?: Partial<OtlpReceiverOptions>): OtlpReceiverOptions {
  return resolveOptions(OtlpReceiverOptionsSchema, partial);
}

/**
 * How the receiver's metrics go into the downsampler: pushed (no gaps), ordered by the
 * applications' own times, within the applications' series cap and each container's share of it.
 */
export function otlpIngestOptions(o: Pick<OtlpReceiverOptions, 'maxSeries' | 'maxSeriesPerContainer'>): IngestOptions {
  return { gaps: false, ordered: true, maxSeries: o.maxSeries, maxContainerSeries: o.maxSeriesPerContainer };
}
