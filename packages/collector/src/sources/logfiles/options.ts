import { resolveOptions } from '../../config/resolve-options.js';
import { LogFileSourceOptionsSchema, type LogFileSourceOptions } from '@edge-telemetry/protocol';

// The schema lives in protocol, shared with the ingester, which validates documents before storing them.
export { LogFileSourceOptionsSchema, type LogFileSourceOptions } from '@edge-telemetry/protocol';

export function logFileSourceOptions(partial: Partial<LogFileSourceOptions> = {}): LogFileSourceOptions {
  return resolveOptions(LogFileSourceOptionsSchema, partial);
}
