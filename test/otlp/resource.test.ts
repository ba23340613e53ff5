/** Where a resource's telemetry comes from: the container by id, else by its Kubernetes attributes as the CRI log source names it. */
import { describe, expect, it } from 'vitest';
import { MAX_NAME_BYTES, readResource } from '../../packages/collector/src/sources/otlp/resource.js';
import { DropCounter } from '../../packages/collector/src/batch/drops.js';
import { validateSpanSummary } from '@edge-telemetry/protocol';
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
      const {
        refs: [logs],
      } = await discoverCri(root);
      const r = readResource(
        resource({
          'k8s.namespace.name': 'factory',
          'k8s.pod.name': 'plc-bridge-7d9f',
          'k8s.container.name': 'bridge',
          'service.name': 'plc-bridge',
        }),
        o,
        deps,
        new DropCounter(),
      );
      expect(r.container).toBe(logs!.container);
      expect(r).toMatchObject({ service: 'plc-bridge', identity: { 'service.name': 'plc-bridge' } });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('prefers a listed container id, then the container name alone, then none', () => {
    const k8s = { 'k8s.namespace.name': 'a', 'k8s.pod.name': 'b', 'k8s.container.name': 'c' };
    expect(
      readResource(resource({ 'container.id': 'abc123def456', ...k8s }), o, deps, new DropCounter()).container,
    ).toBe('shop');
    expect(readResource(resource({ 'container.id': 'unknown', ...k8s }), o, deps, new DropCounter()).container).toBe(
      'a/b/c',
    );
    expect(readResource(resource({ 'k8s.container.name': 'c' }), o, deps, new DropCounter()).container).toBe('c');
    expect(readResource(resource({ 'k8s.pod.name': 'b' }), o, deps, new DropCounter()).container).toBe('');
  });

  it('cuts a container or service name the protocol could not carry on every row, and counts it', () => {
    const drops = new DropCounter();
    const r = readResource(
      resource({ 'k8s.container.name': 'c'.repeat(70_000), 'service.name': `svc-\ud800` }),
      o,
      deps,
      drops,
    );
    expect(Buffer.byteLength(r.container)).toBeLessThanOrEqual(MAX_NAME_BYTES);
    expect(r.container.startsWith('ccc')).toBe(true);
    const row = { container: r.container, service: r.service, operation: 'op', kind: 0, status: 0, start: 0, end: 1 };
    const check = validateSpanSummary({ ...row, count: 1, sum: 1, min: 1, max: 1, errors: [], traceIds: [] });
    expect(check.ok ? 'ok' : check.error.message).toBe('ok');
    expect(drops.take()).toEqual([{ stage: 'otlp.resource', reason: 'name_cut', container: r.container, count: 1 }]);
    expect(readResource(resource({ 'k8s.container.name': 'c' }), o, deps, drops).container).toBe('c');
    expect(drops.take()).toEqual([]);
  });
});
