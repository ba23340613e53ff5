import { resolveOptions } from '../config/resolve-options.js';
import { PullOptionsSchema, type PullOptions } from '@edge-telemetry/protocol';

// The schema lives in protocol, shared with the ingester, which validates documents before storing them.
export { PullOptionsSchema, type PullOptions } from '@edge-telemetry/protocol';

export function pullOptions(partial: unknown = {}): PullOptions {
  return resolveOptions(PullOptionsSchema, partial);
}
