/**
 * Issue 9: the K3s/Kubernetes manifest is parsed and held to the same invariants as compose:
 * limits, read-only root, non-root, probes, pinned image; plus the collector's host mounts.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { podProblems } from './invariants.js';

interface HostPathVolume {
  name: string;
  hostPath?: { path: string; type?: string };
  emptyDir?: { medium?: string; sizeLimit?: string };
}
interface Mount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  volumeMounts: Mount[];
  resources: { limits: { cpu: string; memory: string } };
}
interface PodSpec {
  automountServiceAccountToken?: boolean;
  securityContext: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
  volumes: HostPathVolume[];
}
interface Doc {
  kind: string;
  metadata: { name: string };
  automountServiceAccountToken?: boolean;
  spec?: { template: { spec: PodSpec } };
}

const file = fileURLToPath(new URL('../../docker/k8s/collector-daemonset.yaml', import.meta.url));
const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
  expect(d.errors).toEqual([]);
  return d.toJSON() as Doc;
});
const ds = docs.find((d) => d.kind === 'DaemonSet') as Doc;
const pod = ds.spec?.template.spec as PodSpec;
const collector = pod.containers[0] as Container;
const hostMount = (hostPath: string) => {
  const vol = pod.volumes.find((v) => v.hostPath?.path === hostPath);
  return { vol, mount: collector.volumeMounts.find((m) => m.name === vol?.name) };
};

describe('docker/k8s/collector-daemonset.yaml', () => {
  it('is a DaemonSet whose pod meets every invariant', () => {
    expect(ds).toBeDefined();
    expect(podProblems(pod)).toEqual([]);
  });

  it('keeps the collector inside the edge budget', () => {
    expect(collector.resources.limits).toEqual({ cpu: '200m', memory: '128Mi' });
  });

  it('mounts CRI logs and cgroups from the host read-only', () => {
    for (const p of ['/var/log/pods', '/sys/fs/cgroup']) {
      const { vol, mount } = hostMount(p);
      expect(vol?.hostPath?.type, p).toBe('Directory');
      expect(mount, p).toMatchObject({ mountPath: p, readOnly: true });
    }
  });

  it("reads its own node's identity from the node's disk, read-only, never from a shared Secret", () => {
    const { mount } = hostMount('/etc/edge-telemetry');
    expect(mount?.readOnly).toBe(true);
    expect(collector.args).toEqual(['--config', `${mount?.mountPath}/collector.json`]);
    expect(docs.some((d) => d.kind === 'Secret')).toBe(false);
  });

  it('writes only to its data directory and a memory-backed, size-limited /tmp', () => {
    const writable = collector.volumeMounts
      .filter((m) => m.readOnly !== true)
      .map((m) => [m.mountPath, pod.volumes.find((v) => v.name === m.name)]);
    expect(writable).toEqual([
      ['/data', { name: 'data', hostPath: { path: '/var/lib/edge-telemetry', type: 'Directory' } }],
      ['/tmp', { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '8Mi' } }],
    ]);
  });

  it('gets no Kubernetes API token', () => {
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(docs.find((d) => d.kind === 'ServiceAccount')?.automountServiceAccountToken).toBe(false);
  });

  it('reports a pod spec that breaks the rules', () => {
    const bad = structuredClone(pod);
    bad.securityContext.runAsNonRoot = false;
    const c = bad.containers[0] as Container & { securityContext: Record<string, unknown> };
    c.securityContext = { readOnlyRootFilesystem: false, allowPrivilegeEscalation: true, capabilities: { drop: [] } };
    c.image = 'edge-telemetry/collector:latest';
    const problems = podProblems(bad).join('\n');
    for (const p of [/runAsNonRoot/, /readOnlyRootFilesystem/, /allowPrivilegeEscalation/, /drop ALL/, /moving tag/])
      expect(problems).toMatch(p);
  });
});
