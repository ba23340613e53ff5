/**
 * The uplink economy's reference workload for one node, in compressed time: N containers, a
 * `docker stats` document per container per scrape, and log lines at a fixed rate drawn from
 * Loghub (each container cycles through one dataset's lines, so each keeps that dataset's level
 * mix). Steps come out in time order with synthetic timestamps; nothing sleeps.
 *
 * The stats documents are the real payloads' shapes (one of the corpus' bodies per container),
 * with their counters advanced and gauges moved at every scrape, so that the collector's own
 * statsToSamples sees what a running daemon would send.
 */
import type { ContainerInfo, LogLevelValue } from '@edge-telemetry/protocol';
import { LogLevel } from '@edge-telemetry/protocol';
import type { LoghubLines } from './loghub-lines.js';

export interface WorkloadOptions {
  containers: number;
  scrapeIntervalMs: number;
  windowMs: number;
  /** Log lines per second for the whole node. */
  linesPerSecond: number;
  durationMs: number;
  /** Start of the first window (ms); a multiple of windowMs. */
  startMs: number;
}

export const REFERENCE_WORKLOAD: WorkloadOptions = {
  containers: 30,
  scrapeIntervalMs: 10_000,
  windowMs: 60_000,
  linesPerSecond: 20,
  durationMs: 3_600_000,
  startMs: Date.UTC(2026, 0, 1),
};

export interface LineStep {
  kind: 'line';
  ts: number;
  container: string;
  /** stderr for lines whose dataset level is warn or above, as most programs write them. */
  stream: 'stdout' | 'stderr';
  line: string;
  /** The dataset's own level for this line (the workload's mix, not what the pipeline parses). */
  level: LogLevelValue;
  /** The same line as Docker's json-file driver writes it, newline included. */
  jsonFile: string;
}

export interface ScrapeStep {
  kind: 'scrape';
  ts: number;
  docs: Array<{ container: string; doc: StatsDoc; json: string }>;
}

export interface SealStep {
  kind: 'seal';
  windowStart: number;
  windowEnd: number;
}

export type WorkloadStep = LineStep | ScrapeStep | SealStep;

/** A stats body as parsed JSON. */
export type StatsDoc = Record<string, unknown>;

/** A uniform random number in [0, 1); passed in so that runs are reproducible. */
export type Random = () => number;

/** Docker's RFC 3339 time with nanoseconds (the json-file `time` and the stats `read` fields). */
export function rfc3339Nano(ms: number, subMs = 0): string {
  return new Date(ms).toISOString().replace('Z', `${String(subMs).padStart(6, '0')}Z`);
}

/** One line as the json-file log driver stores it. */
export function dockerJsonFileLine(line: string, stream: 'stdout' | 'stderr', ts: number): string {
  return `${JSON.stringify({ log: `${line}\n`, stream, time: rfc3339Nano(ts) })}\n`;
}

const hex = (random: Random, n: number): string =>
  Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join('');

/** Container i runs dataset i mod D; its replicas are numbered from 1. */
export interface WorkloadContainer {
  info: ContainerInfo;
  dataset: LoghubLines;
  /** Where in its dataset the container starts. */
  offset: number;
}

export function workloadContainers(n: number, datasets: readonly LoghubLines[], random: Random): WorkloadContainer[] {
  if (datasets.length === 0) throw new Error('workload: no Loghub datasets');
  const replicas = Math.ceil(n / datasets.length);
  return Array.from({ length: n }, (_, i) => {
    const dataset = datasets[i % datasets.length] as LoghubLines;
    const replica = Math.floor(i / datasets.length);
    const service = dataset.name.toLowerCase();
    const info: ContainerInfo = {
      id: hex(random, 64),
      name: `${service}-${replica + 1}`,
      image: `registry.example.com/edge/${service}:1.${replica}.0`,
      state: 'running',
      labels: {
        'com.docker.compose.project': 'edge',
        'com.docker.compose.service': service,
        'com.docker.compose.container-number': String(replica + 1),
      },
    };
    // Replicas of one dataset start at different points of it, as copies of a service do.
    return { info, dataset, offset: Math.floor((replica * dataset.lines.length) / replicas) };
  });
}

const obj = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
const NS_GRANULE = 10_000_000;

/**
 * The next stats document of a container: `read`/`preread` moved on, the previous cpu_stats as
 * precpu_stats, CPU counters advanced by `util` of the container's CPUs over the interval, memory
 * and pids moved around their start values, network and block I/O counters advanced.
 */
export function nextStatsDoc(
  prev: StatsDoc,
  base: StatsDoc,
  ts: number,
  intervalMs: number,
  util: number,
  random: Random,
): StatsDoc {
  const doc = structuredClone(prev);
  if ('preread' in doc) doc.preread = doc.read;
  doc.read = rfc3339Nano(ts, Math.floor(random() * 1e6));
  const cpu = obj(doc.cpu_stats);
  if (cpu) {
    doc.precpu_stats = structuredClone(cpu);
    const cpus = num(cpu.online_cpus) || 1;
    const wall = intervalMs * 1e6 * cpus;
    const used = Math.round(wall * util);
    const usage = obj(cpu.cpu_usage);
    if (usage) {
      usage.total_usage = num(usage.total_usage) + used;
      usage.usage_in_usermode = num(usage.usage_in_usermode) + Math.round((used * 0.8) / NS_GRANULE) * NS_GRANULE;
      usage.usage_in_kernelmode = num(usage.usage_in_kernelmode) + Math.round((used * 0.2) / NS_GRANULE) * NS_GRANULE;
      if (Array.isArray(usage.percpu_usage)) {
        const per = usage.percpu_usage as number[];
        usage.percpu_usage = per.map((v) => v + Math.round((used / per.length) * (0.5 + random())));
      }
    }
    cpu.system_cpu_usage = num(cpu.system_cpu_usage) + Math.round(wall / NS_GRANULE) * NS_GRANULE;
  }
  const mem = obj(doc.memory_stats);
  const baseUsage = num(obj(base.memory_stats)?.usage);
  if (mem && baseUsage > 0) {
    mem.usage = Math.round(baseUsage * (0.9 + 0.2 * random()));
    if ('max_usage' in mem) mem.max_usage = Math.max(num(mem.max_usage), mem.usage as number);
  }
  for (const n of Object.values(obj(doc.networks) ?? {})) {
    const net = obj(n);
    if (!net) continue;
    const rx = Math.round(random() * 200_000);
    const tx = Math.round(random() * 50_000);
    net.rx_bytes = num(net.rx_bytes) + rx;
    net.rx_packets = num(net.rx_packets) + Math.ceil(rx / 900);
    net.tx_bytes = num(net.tx_bytes) + tx;
    net.tx_packets = num(net.tx_packets) + Math.ceil(tx / 900);
  }
  const io = obj(doc.blkio_stats)?.io_service_bytes_recursive;
  if (Array.isArray(io)) {
    const read = Math.round(random() * 4096) * 4096 * (random() < 0.3 ? 1 : 0);
    const write = Math.round(random() * 64) * 4096;
    for (const e of io) {
      const entry = obj(e);
      if (!entry) continue;
      const op = String(entry.op).toLowerCase();
      const add = op === 'read' ? read : op === 'write' ? write : op === 'sync' || op === 'total' ? read + write : 0;
      entry.value = num(entry.value) + add;
    }
  }
  const pids = obj(doc.pids_stats);
  const basePids = num(obj(base.pids_stats)?.current);
  if (pids && 'current' in pids) pids.current = Math.max(1, basePids + Math.round((random() - 0.5) * 4));
  return doc;
}

/** The reference workload's steps in time order: at each scrape tick the scrape, then the lines until the next tick; a seal at each window end. */
export function* workload(
  o: WorkloadOptions,
  fleet: readonly WorkloadContainer[],
  statsBodies: readonly StatsDoc[],
  random: Random,
): Generator<WorkloadStep> {
  if (o.windowMs % o.scrapeIntervalMs !== 0 || o.durationMs % o.windowMs !== 0 || o.startMs % o.windowMs !== 0) {
    throw new Error('workload: windowMs must divide durationMs and startMs, and scrapeIntervalMs windowMs');
  }
  if (statsBodies.length === 0) throw new Error('workload: no stats bodies');
  if (fleet.length === 0) throw new Error('workload: no containers');
  const containers = fleet.map((c, i) => {
    const base = structuredClone(statsBodies[i % statsBodies.length] as StatsDoc);
    if ('name' in base) base.name = `/${c.info.name}`;
    if ('id' in base) base.id = c.info.id;
    return { ...c, base, doc: base, cursor: c.offset, util: 0.02 + 0.3 * random() };
  });
  const lineEveryMs = 1000 / o.linesPerSecond;
  let lineNo = 0;
  const end = o.startMs + o.durationMs;
  for (let tick = o.startMs; tick < end; tick += o.scrapeIntervalMs) {
    const docs = containers.map((c) => {
      c.util = Math.min(0.95, Math.max(0.005, c.util * (0.85 + 0.3 * random())));
      c.doc = nextStatsDoc(c.doc, c.base, tick, o.scrapeIntervalMs, c.util, random);
      return { container: c.info.name, doc: c.doc, json: JSON.stringify(c.doc) };
    });
    yield { kind: 'scrape', ts: tick, docs };
    for (;;) {
      const ts = o.startMs + Math.floor(lineNo * lineEveryMs);
      if (ts >= tick + o.scrapeIntervalMs) break;
      const c = containers[lineNo % containers.length] as (typeof containers)[number];
      const i = c.cursor % c.dataset.lines.length;
      c.cursor++;
      lineNo++;
      const line = c.dataset.lines[i] as string;
      const level = c.dataset.levels[i] as LogLevelValue;
      const stream = level >= LogLevel.warn ? 'stderr' : 'stdout';
      yield {
        kind: 'line',
        ts,
        container: c.info.name,
        stream,
        line,
        level,
        jsonFile: dockerJsonFileLine(line, stream, ts),
      };
    }
    const next = tick + o.scrapeIntervalMs;
    if (next % o.windowMs === 0) yield { kind: 'seal', windowStart: next - o.windowMs, windowEnd: next };
  }
}
