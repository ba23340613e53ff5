import type { Sample } from '../types.js';
import { bigField, numField } from './engine-json.js';

/** Cumulative CPU counters of one stats body, kept per container to compute the next CPU%. */
export interface CpuReading {
  /** Container CPU time, ns. */
  total: bigint;
  /** Host CPU time summed over all CPUs, ns. */
  system: bigint;
  onlineCpus: number;
}

type Obj = Record<string, unknown>;

/** Memory limits at or above 2^62 mean "no limit" (cgroup v1 reports 2^63 - page size). */
const UNLIMITED = 2 ** 62;

function obj(v: unknown): Obj | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}

export function cpuReading(cpuStats: unknown): CpuReading | undefined {
  const cpu = obj(cpuStats);
  const usage = obj(cpu?.cpu_usage);
  const total = bigField(usage?.total_usage);
  const system = bigField(cpu?.system_cpu_usage);
  if (total === undefined || system === undefined || system === 0n) return undefined;
  const percpu = usage?.percpu_usage;
  const onlineCpus = numField(cpu?.online_cpus) ?? (Array.isArray(percpu) && percpu.length > 0 ? percpu.length : 1);
  return { total, system, onlineCpus };
}

/** docker CLI's formula: container CPU delta over host CPU delta x online CPUs x 100 (100 = one core busy). */
export function cpuPct(cur: CpuReading, prev: CpuReading): number | undefined {
  const sysDelta = cur.system - prev.system;
  const cpuDelta = cur.total - prev.total;
  if (sysDelta <= 0n || cpuDelta < 0n) return undefined;
  return (Number(cpuDelta) / Number(sysDelta)) * cur.onlineCpus * 100;
}

/**
 * One stats body to samples. CPU% comes from the body's own precpu_stats, or, on the engine's
 * first sample where precpu_stats is all zero, from `prev` (the previous scrape's reading).
 * Memory is usage minus inactive file pages, as `docker stats` shows it (cgroup v1
 * total_inactive_file, v2 inactive_file).
 */
export function statsToSamples(
  container: string,
  body: unknown,
  prev: CpuReading | undefined,
  ts: number,
): { samples: Sample[]; cpu: CpuReading | undefined } {
  const s = obj(body) ?? {};
  const samples: Sample[] = [];
  const gauge = (metric: string, value: number | undefined): void => {
    if (value !== undefined) samples.push({ container, metric, value, ts, kind: 'gauge' });
  };
  const counter = (metric: string, value: number | undefined): void => {
    if (value !== undefined) samples.push({ container, metric, value, ts, kind: 'counter' });
  };

  const cur = cpuReading(s.cpu_stats);
  if (cur) {
    const base = cpuReading(s.precpu_stats) ?? prev;
    gauge('cpu.usage_pct', base ? cpuPct(cur, base) : undefined);
  }

  const mem = obj(s.memory_stats);
  const usage = numField(mem?.usage);
  if (usage !== undefined) {
    const st = obj(mem?.stats);
    const v1 = numField(st?.total_inactive_file);
    const v2 = numField(st?.inactive_file);
    const inactive = v1 !== undefined && st && 'total_inactive_file' in st ? v1 : v2;
    gauge('mem.usage_bytes', inactive !== undefined && inactive < usage ? usage - inactive : usage);
  }
  const limit = numField(mem?.limit);
  if (limit !== undefined && limit > 0 && limit < UNLIMITED) gauge('mem.limit_bytes', limit);

  const nets = obj(s.networks);
  if (nets) {
    let rx = 0;
    let tx = 0;
    for (const n of Object.values(nets)) {
      rx += numField(obj(n)?.rx_bytes) ?? 0;
      tx += numField(obj(n)?.tx_bytes) ?? 0;
    }
    counter('net.rx_bytes', rx);
    counter('net.tx_bytes', tx);
  }

  const io = obj(s.blkio_stats)?.io_service_bytes_recursive;
  if (Array.isArray(io) && io.length > 0) {
    let read = 0;
    let write = 0;
    for (const e of io) {
      const op = String(obj(e)?.op ?? '').toLowerCase();
      const v = numField(obj(e)?.value) ?? 0;
      if (op === 'read') read += v;
      else if (op === 'write') write += v;
    }
    counter('blkio.read_bytes', read);
    counter('blkio.write_bytes', write);
  }

  gauge('pids.current', numField(obj(s.pids_stats)?.current));
  return { samples, cpu: cur };
}
