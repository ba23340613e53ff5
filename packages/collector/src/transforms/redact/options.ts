import { resolveOptions } from '../../config/resolve-options.js';
import { RedactOptionsSchema, type RedactOptions } from '@edge-telemetry/protocol';

// The schema lives in protocol, shared with the ingester, which validates documents before storing them.
export { RedactPatternSchema, RedactOptionsSchema, type RedactOptions } from '@edge-telemetry/protocol';

export function redactOptions(partial: Partial<RedactOptions> = {}): RedactOptions {
  return resolveOptions(RedactOptionsSchema, partial);
}
