import { Type, type Static } from '@sinclair/typebox';

export const CgroupSourceOptionsSchema = Type.Object({
  root: Type.String({
    minLength: 1,
    default: '/sys/fs/cgroup',
    description: "Where the cgroup filesystem is mounted; inside a container, mount the host's read-only.",
  }),
  version: Type.Union([Type.Literal('auto'), Type.Literal('v1'), Type.Literal('v2')], {
    default: 'auto',
    description: 'cgroup version; auto detects v2 (cgroup.controllers at the root) or v1 (per-controller hierarchies).',
  }),
  discover: Type.Boolean({
    default: true,
    description: 'Find containers by walking the hierarchy for Docker, containerd and Kubernetes cgroup paths.',
  }),
  maxDepth: Type.Integer({
    minimum: 1,
    maximum: 12,
    default: 7,
    description: 'How deep discovery walks below the root (kubepods nests 4-5 levels).',
  }),
  /** So that a runaway host cannot slow the collector. */
  maxContainers: Type.Integer({
    minimum: 1,
    default: 500,
    description: 'Most containers read per scrape; further ones are counted and left out.',
  }),
  watch: Type.Array(Type.Object({ path: Type.String({ minLength: 1 }), name: Type.String({ minLength: 1 }) }), {
    default: [],
    description:
      'Extra cgroups read under a fixed name, as [{"path", "name"}] with path relative to the hierarchy root (e.g. a systemd service).',
  }),
});

export type CgroupSourceOptions = Static<typeof CgroupSourceOptionsSchema>;
