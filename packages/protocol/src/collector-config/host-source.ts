import { Type, type Static } from '@sinclair/typebox';

export const HostSourceOptionsSchema = Type.Object({
  procRoot: Type.String({
    minLength: 1,
    default: '/proc',
    description: "Where procfs is mounted; inside a container, the host's /proc mounted read-only (e.g. /host/proc).",
  }),
  dataDir: Type.String({
    minLength: 1,
    default: '/var/lib/edge-telemetry',
    description: 'The data volume whose disk use is reported (statfs).',
  }),
  excludeInterfaces: Type.String({
    default: '^(lo|veth.*|docker\\d+|br-.*|cni\\d*|flannel.*|cali.*|ifb\\d+)$',
    description:
      'Regular expression of the interfaces left out of net.* metrics (loopback and container-side virtual interfaces).',
  }),
  maxInterfaces: Type.Integer({
    minimum: 0,
    default: 16,
    description: 'Most network interfaces reported; on a host with more, the first ones in /proc/net/dev order.',
  }),
});

export type HostSourceOptions = Static<typeof HostSourceOptionsSchema>;
