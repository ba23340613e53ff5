import { readFile, statfs } from 'node:fs/promises';
import path from 'node:path';
import type { Counter, Meter } from '@opentelemetry/api';
import type { MetricSource, Sample, ScrapeResult } from '../types.js';
import { sourceErrorsCounter } from '../source-errors.js';
import { silentLog, type MetricsLog } from '../../self/log.js';
import { resolveHostSourceOptions, type HostSourceOptions } from './options.js';
import { parseLoadavg, parseMeminfo, parseNetDev, parseProcStat, type CpuTimes } from './proc.js';

export interface HostSourceDeps {
  log?: MetricsLog;
  meter?: Meter;
}

/** The host the collector runs on: CPU, memory, load, network interfaces and the data volume, as container ''. */
export class HostSource implements MetricSource {
  readonly name = 'host';
  readonly options: HostSourceOptions;
  private readonly log: MetricsLog;
  private readonly errors: Counter;
  private readonly exclude: RegExp;
  private prevCpu: CpuTimes | undefined;

  constructor(options: Partial<HostSourceOptions>, deps: HostSourceDeps = {}) {
    this.options = resolveHostSourceOptions(options);
    this.log = deps.log ?? silentLog;
    this.errors = sourceErrorsCounter(deps.meter);
    this.exclude = new RegExp(this.options.excludeInterfaces);
  }

  async scrape(now: number): Promise<ScrapeResult> {
    const samples: Sample[] = [];
    const failed: string[] = [];
    const gauge = (metric: string, value: number): void =>
      void samples.push({ container: '', metric, value, ts: now, kind: 'gauge' });
    const counter = (metric: string, value: number): void =>
      void samples.push({ container: '', metric, value, ts: now, kind: 'counter' });
    const proc = (f: string): Promise<string | undefined> =>
      readFile(path.join(this.options.procRoot, f), 'utf8').catch((err: Error) => {
        failed.push(`${f}: ${err.message}`);
        return undefined;
      });
    const [stat, meminfo, loadavg, netdev] = await Promise.all([
      proc('stat'),
      proc('meminfo'),
      proc('loadavg'),
      proc('net/dev'),
    ]);

    const cpu = stat !== undefined ? parseProcStat(stat) : undefined;
    if (cpu) {
      gauge('cpu.cores', cpu.cores);
      const p = this.prevCpu;
      const dt = p ? cpu.total - p.total : 0;
      if (p && dt > 0) {
        // Percent of one core, like container CPU%: a 4-core host fully busy reads 400.
        gauge('cpu.usage_pct', ((dt - (cpu.idle - p.idle) - (cpu.iowait - p.iowait)) / dt) * cpu.cores * 100);
        gauge('cpu.iowait_pct', ((cpu.iowait - p.iowait) / dt) * cpu.cores * 100);
      }
      this.prevCpu = cpu;
    }
    if (meminfo !== undefined) {
      const m = parseMeminfo(meminfo);
      const total = m.get('MemTotal');
      const available = m.get('MemAvailable') ?? m.get('MemFree');
      if (total !== undefined) gauge('mem.total_bytes', total);
      if (available !== undefined) gauge('mem.available_bytes', available);
      if (total !== undefined && available !== undefined) gauge('mem.usage_bytes', total - available);
    }
    const load = loadavg !== undefined ? parseLoadavg(loadavg) : undefined;
    if (load) {
      gauge('load.1m', load[0]);
      gauge('load.5m', load[1]);
      gauge('load.15m', load[2]);
    }
    if (netdev !== undefined) {
      const ifaces = parseNetDev(netdev).filter((i) => !this.exclude.test(i.name));
      for (const i of ifaces.slice(0, this.options.maxInterfaces)) {
        counter(`net.${i.name}.rx_bytes`, i.rxBytes);
        counter(`net.${i.name}.tx_bytes`, i.txBytes);
        counter(`net.${i.name}.rx_errors`, i.rxErrors);
        counter(`net.${i.name}.tx_errors`, i.txErrors);
      }
    }
    try {
      const fs = await statfs(this.options.dataDir);
      const total = fs.blocks * fs.bsize;
      gauge('disk.total_bytes', total);
      gauge('disk.free_bytes', fs.bavail * fs.bsize);
      gauge('disk.usage_bytes', (fs.blocks - fs.bfree) * fs.bsize);
      if (total > 0) gauge('disk.usage_pct', ((fs.blocks - fs.bfree) / fs.blocks) * 100);
    } catch (err) {
      failed.push(`statfs ${this.options.dataDir}: ${(err as Error).message}`);
    }

    for (const f of failed) {
      this.errors.add(1, { source: 'host', code: 'ET_ERR_HOST_READ' });
      this.log({ level: 'warn', code: 'ET_ERR_HOST_READ', msg: f });
    }
    return { samples, containers: [] };
  }

  async close(): Promise<void> {
    this.prevCpu = undefined;
  }
}
