/** Where a resource's telemetry comes from: the container by id, else by its Kubernetes attributes as the CRI log source names it. */
import { describe, expect, it } from 'vitest';
import { readResource } from '../../packages/collector/src/sources/otlp/resource.js';
import { discoverCri } from '../../packages/collector/src/sources/logfiles/discover.js';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const resource = (attrs: Record<string, string>) => ({
  attributes: Object.entries(attrs).map(([key, v]) => ({ key, value: { stringValue: v } })),
});
const o = { resourceAttributes: ['service.name'] };
const deps = { containerOf: (id: string) => (id === 'abc123def456' ? 'shop' : undefined) };

describe('OTLP resource -> container', () => {
  it("names a pod's container as the CRI log source names the same container's logs", async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'et-otlp-cri-'));
    try {
      await mkdir(path.join(root, 'factory_plc-bridge-7d9f_0a1b2c', 'bridge'), { recursive: true });
      await writeFile(path.join(root, 'factory_plc-bridge-7d9f_0a1b2c', 'bridge', '0.log'), '');
      const [logs] = await discoverCri(root);
      const r = readResource(
        resource({
          'k8s.namespace.name': 'factory',
          'k8s.pod.name': 'plc-bridge-7d9f',
          'k8s.container.name': 'bridge',
          'service.name': 'plc-bridge',
        }),
        o,
        deps,
      );
      expect(r.container).toBe(logs!.container);
      expect(r).toMatchObject({ service: 'plc-bridge', identity: { 'service.name': 'plc-bridge' } });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('prefers a listed container id, then the container name alone, then none', () => {
    const k8s = { 'k8s.namespace.name': 'a', 'k8s.pod.name': 'b', 'k8s.container.name': 'c' };
    expect(readResource(resource({ 'container.id': 'abc123def456', ...k8s }), o, deps).container).toBe('shop');
    expect(readResource(resource({ 'container.id': 'unknown', ...k8s }), o, deps).container).toBe('a/b/c');
    expect(readResource(resource({ 'k8s.container.name': 'c' }), o, deps).container).toBe('c');
    expect(readResource(resource({ 'k8s.pod.name': 'b' }), o, deps).container).toBe('');
  });
});
