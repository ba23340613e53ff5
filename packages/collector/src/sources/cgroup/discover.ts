import { access, readdir } from 'node:fs/promises';
import path from 'node:path';

export type CgroupVersion = 'v1' | 'v2';

export interface CgroupContainer {
  /** Full container id from the path (64 hex for Docker and containerd). */
  id: string;
  runtime: 'docker' | 'containerd' | 'crio';
  /** Kubernetes pod UID when the path is under kubepods. */
  podUid?: string;
  /** Path relative to the hierarchy root, starting with '/'. */
  path: string;
}

const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

/** v2 has cgroup.controllers at its root; v1 (and hybrid) mounts one hierarchy per controller. */
export async function detectVersion(root: string): Promise<CgroupVersion | undefined> {
  if (await exists(path.join(root, 'cgroup.controllers'))) return 'v2';
  if ((await exists(path.join(root, 'memory'))) || (await exists(path.join(root, 'cpuacct')))) return 'v1';
  return undefined;
}

const ID = '([0-9a-f]{64})';
const PATTERNS: Array<{ re: RegExp; runtime: CgroupContainer['runtime'] }> = [
  { re: new RegExp(`^docker-${ID}\\.scope$`), runtime: 'docker' }, // systemd cgroup driver
  { re: new RegExp(`^cri-containerd-${ID}\\.scope$`), runtime: 'containerd' },
  { re: new RegExp(`^crio-${ID}\\.scope$`), runtime: 'crio' },
  { re: new RegExp(`^${ID}$`), runtime: 'docker' }, // cgroupfs driver: /docker/<id>, /kubepods/.../<id>
];

/**
 * Recognises a container's cgroup from its path: /docker/<id>, /system.slice/docker-<id>.scope,
 * containerd's cri-containerd-<id>.scope, and kubepods pod paths (pod<uid> or
 * kubepods-<qos>-pod<uid>.slice, with the pod UID's underscores turned back into dashes).
 */
export function matchContainerPath(rel: string): CgroupContainer | undefined {
  const parts = rel.split('/').filter(Boolean);
  const leaf = parts[parts.length - 1];
  if (leaf === undefined) return undefined;
  for (const { re, runtime } of PATTERNS) {
    const m = re.exec(leaf);
    if (!m) continue;
    const id = m[1] as string;
    const parent = parts[parts.length - 2] ?? '';
    const inPods = parts.some((p) => p.startsWith('kubepods'));
    // A bare 64-hex leaf is a container only under /docker or a kubepods pod.
    if (runtime === 'docker' && leaf === id && parent !== 'docker' && !inPods) return undefined;
    const pod = /pod([0-9a-f_-]{36})(?:\.slice)?$/.exec(parent);
    const c: CgroupContainer = {
      id,
      runtime: inPods && leaf === id ? 'containerd' : runtime,
      path: `/${parts.join('/')}`,
    };
    if (pod) c.podUid = (pod[1] as string).replaceAll('_', '-');
    return c;
  }
  return undefined;
}

/** Walks the hierarchy (breadth first, bounded depth) and returns every container cgroup found. */
export async function discoverContainers(hierarchy: string, maxDepth: number): Promise<CgroupContainer[]> {
  const found: CgroupContainer[] = [];
  let level = ['/'];
  for (let depth = 0; depth < maxDepth && level.length > 0; depth++) {
    const next: string[] = [];
    for (const rel of level) {
      let entries;
      try {
        entries = await readdir(path.join(hierarchy, rel), { withFileTypes: true });
      } catch {
        continue; // a cgroup removed while walking: its container is gone
      }
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        const child = path.posix.join(rel, e.name);
        const c = matchContainerPath(child);
        if (c) found.push(c);
        else next.push(child);
      }
    }
    level = next;
  }
  return found;
}
