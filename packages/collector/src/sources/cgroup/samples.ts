import type { Sample } from '../types.js';
import type { CgroupReading } from './read.js';

export interface CpuMark {
  ns: number;
  ts: number;
}

/**
 * One cgroup reading to samples, named as the Docker source names them so dashboards do not
 * care which source a gateway uses. CPU% (100 = one core) needs the previous reading.
 */
export function readingToSamples(container: string, r: CgroupReading, prev: CpuMark | undefined, ts: number): Sample[] {
  const out: Sample[] = [];
  const gauge = (metric: string, value: number | undefined): void => {
    if (value !== undefined) out.push({ container, metric, value, ts, kind: 'gauge' });
  };
  const counter = (metric: string, value: number | undefined): void => {
    if (value !== undefined) out.push({ container, metric, value, ts, kind: 'counter' });
  };
  if (r.cpuNs !== undefined && prev !== undefined && ts > prev.ts && r.cpuNs >= prev.ns) {
    gauge('cpu.usage_pct', ((r.cpuNs - prev.ns) / ((ts - prev.ts) * 1e6)) * 100);
  }
  if (r.memUsage !== undefined) {
    const inactive = r.inactiveFile;
    gauge('mem.usage_bytes', inactive !== undefined && inactive < r.memUsage ? r.memUsage - inactive : r.memUsage);
  }
  gauge('mem.limit_bytes', r.memLimit);
  counter('blkio.read_bytes', r.ioRead);
  counter('blkio.write_bytes', r.ioWrite);
  gauge('pids.current', r.pids);
  return out;
}
