import { Type, type Static } from '@sinclair/typebox';
import { resolveOptions } from '../../config/resolve-options.js';

export const CgroupSourceOptionsSchema = Type.Object({
  /** Where the cgroup filesystem is mounted (inside a container: mount the host's read-only). */
  root: Type.String({ minLength: 1, default: '/sys/fs/cgroup' }),
  /** 'auto' detects v2 (cgroup.controllers at the root) or v1 (per-controller hierarchies). */
  version: Type.Union([Type.Literal('auto'), Type.Literal('v1'), Type.Literal('v2')], { default: 'auto' }),
  /** Find containers by walking the hierarchy for Docker, containerd and Kubernetes cgroup paths. */
  discover: Type.Boolean({ default: true }),
  /** How deep discovery walks below the root (kubepods nests 4-5 levels). */
  maxDepth: Type.Integer({ minimum: 1, maximum: 12, default: 7 }),
  /** Most containers read per scrape; more are counted and left out, so a runaway host cannot slow the collector. */
  maxContainers: Type.Integer({ minimum: 1, default: 500 }),
  /** Extra cgroups to read under a fixed name, relative to the hierarchy root (e.g. a systemd service). */
  watch: Type.Array(Type.Object({ path: Type.String({ minLength: 1 }), name: Type.String({ minLength: 1 }) }), { default: [] }),
});

export type CgroupSourceOptions = Static<typeof CgroupSourceOptionsSchema>;

export function resolveCgroupSourceOptions(partial?: Partial<CgroupSourceOptions>): CgroupSourceOptions {
  return resolveOptions(CgroupSourceOptionsSchema, partial);
}
