import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sample } from '../types.js';
import { CgroupSource } from './cgroup-source.js';
import { detectVersion, discoverContainers, matchContainerPath } from './discover.js';
import { readCgroup } from './read.js';

const FIXTURES = path.resolve(import.meta.dirname, '../../../fixtures/metrics/cgroup');
const D1 = 'a3f1c2d4e5b60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const K1 = '5b2e8f0d1c3a49e7b6d5c4a3b2e1f0d9c8b7a6e5f4d3c2b1a0e9f8d7c6b5a4f3';
const POD = '7c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f';

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'cgroup-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const value = (samples: Sample[], container: string, metric: string): number | undefined =>
  samples.find((s) => s.container === container && s.metric === metric)?.value;
const statValue = (text: string, key: string): number => Number(new RegExp(`^${key} (\\d+)$`, 'm').exec(text)?.[1]);

describe('cgroup paths', () => {
  it('recognises Docker, containerd and Kubernetes container cgroups and nothing else', () => {
    expect(matchContainerPath(`/docker/${D1}`)).toEqual({ id: D1, runtime: 'docker', path: `/docker/${D1}` });
    expect(matchContainerPath(`/system.slice/docker-${D1}.scope`)?.runtime).toBe('docker');
    expect(matchContainerPath(`/system.slice/containerd.service/cri-containerd-${K1}.scope`)?.runtime).toBe(
      'containerd',
    );
    expect(matchContainerPath(`/kubepods/burstable/pod${POD}/${K1}`)).toMatchObject({ id: K1, podUid: POD });
    expect(
      matchContainerPath(
        `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD.replaceAll('-', '_')}.slice/cri-containerd-${K1}.scope`,
      ),
    ).toMatchObject({ id: K1, podUid: POD, runtime: 'containerd' });
    expect(matchContainerPath(`/user.slice/${D1}`)).toBeUndefined();
    expect(matchContainerPath('/system.slice/docker.service')).toBeUndefined();
  });
});

describe.each(['v1', 'v2'] as const)('cgroup %s fixture tree', (version) => {
  it('detects the version, discovers the containers and reads their files', async () => {
    const root = path.join(tmp, version);
    await cp(path.join(FIXTURES, version), root, { recursive: true });
    expect(await detectVersion(root)).toBe(version);
    const found = await discoverContainers(version === 'v1' ? path.join(root, 'memory') : root, 7);
    expect(found.map((c) => c.id).sort()).toEqual([K1, D1].sort());

    const names = new Map([[D1, 'web']]);
    const src = new CgroupSource(
      { root },
      { lookup: async (c) => (names.has(c.id) ? { name: names.get(c.id) as string, image: 'nginx:1.27' } : undefined) },
    );
    const first = await src.scrape(10_000);
    expect(first.containers.find((c) => c.id === D1)).toMatchObject({ name: 'web', image: 'nginx:1.27' });
    const k8s = first.containers.find((c) => c.id === K1);
    expect(k8s?.name).toBe(`containerd-${K1.slice(0, 12)}`);
    expect(k8s?.labels['io.kubernetes.pod.uid']).toBe(POD);
    // No CPU% before a second reading.
    expect(value(first.samples, 'web', 'cpu.usage_pct')).toBeUndefined();

    const dockerDir = version === 'v1' ? `docker/${D1}` : `system.slice/docker-${D1}.scope`;
    const memDir = path.join(root, version === 'v1' ? 'memory' : '', dockerDir);
    const stat = await readFile(path.join(memDir, 'memory.stat'), 'utf8');
    const usage = Number(
      await readFile(path.join(memDir, version === 'v1' ? 'memory.usage_in_bytes' : 'memory.current'), 'utf8'),
    );
    const inactive = statValue(stat, version === 'v1' ? 'total_inactive_file' : 'inactive_file');
    expect(value(first.samples, 'web', 'mem.usage_bytes')).toBe(usage - inactive);
    expect(value(first.samples, 'web', 'mem.limit_bytes')).toBe(version === 'v1' ? 536870912 : 268435456);
    expect(value(first.samples, 'web', 'blkio.read_bytes')).toBe(version === 'v1' ? 4096000 : 167936 + 4096);
    expect(value(first.samples, 'web', 'blkio.write_bytes')).toBe(version === 'v1' ? 1228800 : 8192);
    expect(value(first.samples, 'web', 'pids.current')).toBe(version === 'v1' ? 12 : 7);
    // The pod container has no memory limit ('max' in v2, ~2^63 in v1).
    expect(value(first.samples, k8s?.name ?? '', 'mem.limit_bytes')).toBeUndefined();

    // 2.5 s of CPU over 10 s of wall time = 25% of a core.
    if (version === 'v1') {
      const f = path.join(root, 'cpuacct', dockerDir, 'cpuacct.usage');
      await writeFile(f, `${Number(await readFile(f, 'utf8')) + 2_500_000_000}\n`);
    } else {
      const f = path.join(root, dockerDir, 'cpu.stat');
      const usec = statValue(await readFile(f, 'utf8'), 'usage_usec');
      await writeFile(f, `usage_usec ${usec + 2_500_000}\n`);
    }
    const second = await src.scrape(20_000);
    expect(value(second.samples, 'web', 'cpu.usage_pct')).toBeCloseTo(25, 9);

    // The container goes away: its cgroup disappears, and with no sample its series get gaps downstream.
    await rm(path.join(root, version === 'v1' ? 'memory' : '', dockerDir), { recursive: true });
    const third = await src.scrape(30_000);
    expect(third.containers.some((c) => c.name === 'web')).toBe(false);
    expect(third.samples.some((s) => s.container === 'web')).toBe(false);
  });
});

const realRoot = '/sys/fs/cgroup';
const haveReal = existsSync(realRoot);
if (process.env.CI && !haveReal) throw new Error('/sys/fs/cgroup missing');

describe.runIf(haveReal)("this machine's /sys/fs/cgroup", () => {
  it('detects the hierarchy and reads this process cgroup, equal to the files themselves', async () => {
    const version = await detectVersion(realRoot);
    expect(version === 'v1' || version === 'v2').toBe(true);
    if (!version) return;
    const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
    const rel =
      version === 'v2'
        ? (own.find((l) => l.startsWith('0::'))?.slice(3) ?? '/')
        : (own.find((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l))?.split(':')[2] ?? '/');
    const memFile =
      version === 'v2'
        ? path.join(realRoot, rel, 'memory.current')
        : path.join(realRoot, 'memory', rel, 'memory.usage_in_bytes');
    // The cgroup may hold the whole machine's work (page cache of other writers included): read the
    // file before and after, and expect the source's value within a few MiB of that range.
    const before = Number(readFileSync(memFile, 'utf8'));
    const r = await readCgroup(realRoot, version, rel);
    const after = Number(readFileSync(memFile, 'utf8'));
    expect(r.memUsage).toBeGreaterThan(0);
    expect(r.memUsage).toBeGreaterThanOrEqual(Math.min(before, after) - 64 * 2 ** 20);
    expect(r.memUsage).toBeLessThanOrEqual(Math.max(before, after) + 64 * 2 ** 20);

    const src = new CgroupSource({ watch: [{ path: rel, name: 'self' }] });
    const a = await src.scrape(Date.now());
    expect(a.samples.find((s) => s.container === 'self' && s.metric === 'mem.usage_bytes')?.value).toBeGreaterThan(0);
    const b = await src.scrape(Date.now() + 1000);
    for (const s of b.samples) expect(Number.isFinite(s.value)).toBe(true);
  });
});
