import { resolveOptions } from '../../config/resolve-options.js';
import { OtlpReceiverOptionsSchema, type OtlpReceiverOptions } from '@edge-telemetry/protocol';

// The schema lives in protocol, shared with the ingester, which validates documents before storing them.
export { OtlpReceiverOptionsSchema, type OtlpReceiverOptions } from '@edge-telemetry/protocol';

export function resolveOtlpReceiverOptions(partial?: Partial<OtlpReceiverOptions>): OtlpReceiverOptions {
  return resolveOptions(OtlpReceiverOptionsSchema, partial);
}
