import { resolveOptions } from '../../config/resolve-options.js';
import {
  ParseOptionsSchema,
  MultilineOptionsSchema,
  type ParseOptions,
  type MultilineOptions,
} from '@edge-telemetry/protocol';

// The schema lives in protocol, shared with the ingester, which validates documents before storing them.
export {
  LevelNameSchema,
  ParseOptionsSchema,
  MultilineOptionsSchema,
  type ParseOptions,
  type MultilineOptions,
} from '@edge-telemetry/protocol';

export function parseOptions(partial: Partial<ParseOptions> = {}): ParseOptions {
  return resolveOptions(ParseOptionsSchema, partial);
}

export function multilineOptions(partial: Partial<MultilineOptions> = {}): MultilineOptions {
  return resolveOptions(MultilineOptionsSchema, partial);
}
