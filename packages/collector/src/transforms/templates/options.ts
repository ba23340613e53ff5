import { resolveOptions } from '../../config/resolve-options.js';
import { TemplateMinerOptionsSchema, type TemplateMinerOptions } from '@edge-telemetry/protocol';

// The schema lives in protocol, shared with the ingester, which validates documents before storing them.
export { TemplateMinerOptionsSchema, type TemplateMinerOptions } from '@edge-telemetry/protocol';

export function templateMinerOptions(partial: Partial<TemplateMinerOptions> = {}): TemplateMinerOptions {
  return resolveOptions(TemplateMinerOptionsSchema, partial);
}
