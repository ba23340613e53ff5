import { resolveOptions } from '../../config/resolve-options.js';
import { PrometheusSourceOptionsSchema, type PrometheusSourceOptions } from '@edge-telemetry/protocol';

// The schema lives in protocol, shared with the ingester, which validates documents before storing them.
export {
  StaticTargetSchema,
  PrometheusSourceOptionsSchema,
  type StaticTarget,
  type PrometheusSourceOptions,
} from '@edge-telemetry/protocol';

export function resolvePrometheusSourceOptions(partial?: Partial<PrometheusSourceOptions>): PrometheusSourceOptions {
  return resolveOptions(PrometheusSourceOptionsSchema, partial);
}
