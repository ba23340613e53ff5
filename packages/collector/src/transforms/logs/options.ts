import { resolveOptions } from '../../config/resolve-options.js';
import { LogPipelineOptionsSchema, type LogPipelineOptions } from '@edge-telemetry/protocol';

// The schema lives in protocol, shared with the ingester, which validates documents before storing them.
export {
  ContainerLogSettingsSchema,
  ContainerOverrideSchema,
  LogPipelineOptionsSchema,
  type ContainerLogSettings,
  type ContainerOverride,
  type LogPipelineOptions,
} from '@edge-telemetry/protocol';

/** Deep partial of the options as a user writes them; validated and completed with defaults. */
export function logPipelineOptions(partial: unknown = {}): LogPipelineOptions {
  return resolveOptions(LogPipelineOptionsSchema, partial);
}
