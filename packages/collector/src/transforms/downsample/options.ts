import { CollectorError } from '../../errors.js';
import { resolveOptions } from '../../config/resolve-options.js';
import { DownsampleOptionsSchema, type DownsampleOptions } from '@edge-telemetry/protocol';

// The schema lives in protocol, shared with the ingester, which validates documents before storing them.
export { DownsampleOptionsSchema, type DownsampleOptions } from '@edge-telemetry/protocol';

export function resolveDownsampleOptions(partial?: Partial<DownsampleOptions>): DownsampleOptions {
  const o = resolveOptions(DownsampleOptionsSchema, partial);
  const bad = o.tiersMs.find((t) => t % o.windowMs !== 0);
  if (bad !== undefined)
    throw new CollectorError('ET_ERR_OPTIONS', `/tiersMs: ${bad} is not a multiple of windowMs ${o.windowMs}`);
  return o;
}
