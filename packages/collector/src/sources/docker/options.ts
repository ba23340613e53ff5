import { resolveOptions } from '../../config/resolve-options.js';
import { DockerSourceOptionsSchema, type DockerSourceOptions } from '@edge-telemetry/protocol';

// The schema lives in protocol, shared with the ingester, which validates documents before storing them.
export { DockerSourceOptionsSchema, type DockerSourceOptions } from '@edge-telemetry/protocol';

export function resolveDockerSourceOptions(partial?: Partial<DockerSourceOptions>): DockerSourceOptions {
  return resolveOptions(DockerSourceOptionsSchema, partial);
}
