/**
 * The fleet by what its nodes run: nodes grouped by collector version, configuration document
 * versions and effective configuration hash (pure). A staged image rollout by the container
 * runtime shows as one group shrinking and another growing; nodes on equal hashes collect alike.
 */
import type { NodeConfigState } from './service.js';

export interface VersionGroup {
  agentVersion: string;
  configVersions: number[];
  /** '' for nodes that take no remote configuration (or have not said). */
  effectiveHash: string;
  nodes: number;
  online: number;
  /** Nodes that applied the document they should run. */
  inSync: number;
  /** Up to `sample` node ids, sorted. */
  sample: string[];
}

export function groupByVersion(
  nodes: ReadonlyArray<NodeConfigState & { inSync: boolean }>,
  sample = 5,
): VersionGroup[] {
  const groups = new Map<string, VersionGroup & { all: string[] }>();
  for (const n of nodes) {
    const hash = n.config?.effectiveHash ?? '';
    const key = JSON.stringify([n.agentVersion, n.configVersions, hash]);
    let g = groups.get(key);
    if (g === undefined) {
      g = {
        agentVersion: n.agentVersion,
        configVersions: n.configVersions,
        effectiveHash: hash,
        nodes: 0,
        online: 0,
        inSync: 0,
        sample: [],
        all: [],
      };
      groups.set(key, g);
    }
    g.nodes++;
    if (n.online) g.online++;
    if (n.inSync) g.inSync++;
    g.all.push(n.node);
  }
  return [...groups.values()]
    .map(({ all, ...g }) => ({ ...g, sample: all.sort().slice(0, sample) }))
    .sort(
      (a, b) => b.nodes - a.nodes || (a.agentVersion < b.agentVersion ? -1 : a.agentVersion > b.agentVersion ? 1 : 0),
    );
}
