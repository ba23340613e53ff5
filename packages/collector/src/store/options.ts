import { resolveOptions } from '../config/resolve-options.js';
import { LogStoreOptionsSchema, type LogStoreOptions } from '@edge-telemetry/protocol';

// The schema lives in protocol, shared with the ingester, which validates documents before storing them.
export { LogStoreOptionsSchema, type LogStoreOptions } from '@edge-telemetry/protocol';

export function logStoreOptions(partial: Partial<LogStoreOptions> & { dir: string }): LogStoreOptions {
  return resolveOptions(LogStoreOptionsSchema, partial);
}
