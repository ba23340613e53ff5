import { resolveOptions } from '../../config/resolve-options.js';
import { HostSourceOptionsSchema, type HostSourceOptions } from '@edge-telemetry/protocol';

// The schema lives in protocol, shared with the ingester, which validates documents before storing them.
export { HostSourceOptionsSchema, type HostSourceOptions } from '@edge-telemetry/protocol';

export function resolveHostSourceOptions(partial?: Partial<HostSourceOptions>): HostSourceOptions {
  return resolveOptions(HostSourceOptionsSchema, partial);
}
