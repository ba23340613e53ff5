import path from 'node:path';
import type { Counter, Meter } from '@opentelemetry/api';
import type { ContainerInfo } from '@edge-telemetry/protocol';
import type { MetricSource, Sample, ScrapeResult } from '../types.js';
import { sourceErrorsCounter } from '../source-errors.js';
import { silentLog, type MetricsLog } from '../../self/log.js';
import { detectVersion, discoverContainers, type CgroupContainer, type CgroupVersion } from './discover.js';
import { resolveCgroupSourceOptions, type CgroupSourceOptions } from './options.js';
import { readCgroup } from './read.js';
import { readingToSamples, type CpuMark } from './samples.js';

/** Names a discovered container (from a runtime's metadata, e.g. containerd or the kubelet); undefined keeps the default name. */
export type CgroupNameLookup = (c: CgroupContainer) => Promise<Partial<ContainerInfo> | undefined>;

export interface CgroupSourceDeps {
  log?: MetricsLog;
  meter?: Meter;
  lookup?: CgroupNameLookup;
}

interface Target {
  path: string;
  info: ContainerInfo;
}

/**
 * Container metrics read straight from cgroup files, for gateways without a Docker daemon
 * (containerd, K3s). Containers are found from their cgroup paths each scrape; a read failure
 * becomes a gap for that container, counted and logged, never an exception.
 */
export class CgroupSource implements MetricSource {
  readonly name = 'cgroup';
  readonly options: CgroupSourceOptions;
  private version: CgroupVersion | undefined;
  private readonly log: MetricsLog;
  private readonly errors: Counter;
  private readonly lookup: CgroupNameLookup | undefined;
  private readonly cpu = new Map<string, CpuMark>();
  /** Names already looked up, by cgroup path; pruned to the containers present. */
  private readonly names = new Map<string, ContainerInfo>();

  constructor(options: Partial<CgroupSourceOptions>, deps: CgroupSourceDeps = {}) {
    this.options = resolveCgroupSourceOptions(options);
    this.log = deps.log ?? silentLog;
    this.errors = sourceErrorsCounter(deps.meter);
    this.lookup = deps.lookup;
  }

  async detectedVersion(): Promise<CgroupVersion | undefined> {
    this.version ??= this.options.version === 'auto' ? await detectVersion(this.options.root) : this.options.version;
    return this.version;
  }

  async scrape(now: number): Promise<ScrapeResult> {
    const version = await this.detectedVersion();
    if (!version) {
      this.errors.add(1, { source: 'cgroup', code: 'ET_ERR_CGROUP_NOT_FOUND' });
      this.log({
        level: 'warn',
        code: 'ET_ERR_CGROUP_NOT_FOUND',
        msg: `no cgroup hierarchy under ${this.options.root}`,
        fields: { root: this.options.root },
      });
      return { samples: [], containers: [] };
    }
    const targets = await this.targets(version);
    const samples: Sample[] = [];
    const present = new Set(targets.map((t) => t.path));
    for (const p of this.cpu.keys()) if (!present.has(p)) this.cpu.delete(p);

    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < targets.length) {
        const t = targets[next++] as Target;
        try {
          const r = await readCgroup(this.options.root, version, t.path);
          for (const s of readingToSamples(t.info.name, r, this.cpu.get(t.path), now)) samples.push(s);
          if (r.cpuNs !== undefined) this.cpu.set(t.path, { ns: r.cpuNs, ts: now });
        } catch (err) {
          this.errors.add(1, { source: 'cgroup', code: 'ET_ERR_CGROUP_READ' });
          this.log({
            level: 'info',
            code: 'ET_ERR_CGROUP_READ',
            msg: `${t.path}: ${(err as Error).message}`,
            fields: { container: t.info.name },
          });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, targets.length) }, worker));
    return { samples, containers: targets.map((t) => t.info) };
  }

  async close(): Promise<void> {
    this.cpu.clear();
  }

  private async targets(version: CgroupVersion): Promise<Target[]> {
    const out: Target[] = this.options.watch.map((w) => ({
      path: w.path,
      info: { id: w.path, name: w.name, image: '', state: 'running', labels: {} },
    }));
    if (!this.options.discover) return out;
    const hierarchy = version === 'v2' ? this.options.root : path.join(this.options.root, 'memory');
    const found = await discoverContainers(hierarchy, this.options.maxDepth);
    if (found.length > this.options.maxContainers) {
      this.errors.add(1, { source: 'cgroup', code: 'ET_ERR_CGROUP_TOO_MANY' });
      this.log({
        level: 'warn',
        code: 'ET_ERR_CGROUP_TOO_MANY',
        msg: `${found.length} container cgroups, reading the first ${this.options.maxContainers}`,
      });
    }
    const live = new Set<string>();
    for (const c of found.slice(0, this.options.maxContainers)) {
      live.add(c.path);
      out.push({ path: c.path, info: await this.named(c) });
    }
    for (const p of this.names.keys()) if (!live.has(p)) this.names.delete(p);
    return out;
  }

  private async named(c: CgroupContainer): Promise<ContainerInfo> {
    const known = this.names.get(c.path);
    if (known) return known;
    const labels: Record<string, string> = { 'edge-telemetry.runtime': c.runtime };
    if (c.podUid) labels['io.kubernetes.pod.uid'] = c.podUid;
    const base: ContainerInfo = {
      id: c.id,
      name: `${c.runtime}-${c.id.slice(0, 12)}`,
      image: '',
      state: 'running',
      labels,
    };
    let meta: Partial<ContainerInfo> | undefined;
    try {
      meta = this.lookup ? await this.lookup(c) : undefined;
    } catch (err) {
      this.log({
        level: 'info',
        code: 'ET_ERR_CGROUP_READ',
        msg: `name lookup for ${c.id.slice(0, 12)} failed: ${(err as Error).message}`,
      });
    }
    const info: ContainerInfo = { ...base, ...meta, labels: { ...base.labels, ...meta?.labels } };
    this.names.set(c.path, info);
    return info;
  }
}
