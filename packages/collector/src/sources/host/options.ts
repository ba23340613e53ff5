import { Type, type Static } from '@sinclair/typebox';
import { resolveOptions } from '../../config/resolve-options.js';

export const HostSourceOptionsSchema = Type.Object({
  /** Where procfs is mounted (inside a container: the host's /proc mounted read-only, e.g. /host/proc). */
  procRoot: Type.String({ minLength: 1, default: '/proc' }),
  /** The data volume whose disk use is reported (statfs). */
  dataDir: Type.String({ minLength: 1, default: '/var/lib/edge-telemetry' }),
  /** Interfaces left out of net.* (loopback and container-side virtual interfaces), as a regular expression. */
  excludeInterfaces: Type.String({ default: '^(lo|veth.*|docker\\d+|br-.*|cni\\d*|flannel.*|cali.*|ifb\\d+)$' }),
  /** Most interfaces reported; a host with more reports the first ones in /proc/net/dev order. */
  maxInterfaces: Type.Integer({ minimum: 0, default: 16 }),
});

export type HostSourceOptions = Static<typeof HostSourceOptionsSchema>;

export function resolveHostSourceOptions(partial?: Partial<HostSourceOptions>): HostSourceOptions {
  return resolveOptions(HostSourceOptionsSchema, partial);
}
