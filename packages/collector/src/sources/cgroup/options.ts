import { resolveOptions } from '../../config/resolve-options.js';
import { CgroupSourceOptionsSchema, type CgroupSourceOptions } from '@edge-telemetry/protocol';

// The schema lives in protocol, shared with the ingester, which validates documents before storing them.
export { CgroupSourceOptionsSchema, type CgroupSourceOptions } from '@edge-telemetry/protocol';

export function resolveCgroupSourceOptions(partial?: Partial<CgroupSourceOptions>): CgroupSourceOptions {
  return resolveOptions(CgroupSourceOptionsSchema, partial);
}
