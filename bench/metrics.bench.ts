/**
 * Metrics side of the collector: the downsampler's throughput and memory per series against
 * @opentelemetry/sdk-metrics doing the same aggregation, and a process scraping 50 containers
 * from the Docker replay engine against an idle Node.js process, all measured in the same run.
 *
 * The downsampler and sources are not exported from the package index yet, so they are loaded
 * from the collector's dist/ by path (build first: `npx tsc -b`).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { AggregationType, MeterProvider, type MetricReader } from '@opentelemetry/sdk-metrics';
import { median, type BenchCase, type Figure } from './harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = (p: string): string => pathToFileURL(path.join(here, '../packages/collector/dist', p)).href;
const NAB = path.join(here, '../../shared/corpora/nab/data/realAWSCloudwatch');

interface Sample {
  container: string;
  metric: string;
  value: number;
  ts: number;
  kind: 'gauge' | 'counter';
}
interface DownsamplerLike {
  ingest(source: string, r: { samples: Sample[] }): void;
  flush(windowEnd: number): unknown[];
  readonly seriesCount: number;
}
type DownsamplerCtor = new (o: object, deps: object) => DownsamplerLike;

async function loadCollector(): Promise<{
  Downsampler: DownsamplerCtor;
  ddSketchOps: object;
  DeltaReader: new () => MetricReader;
}> {
  const { Downsampler } = (await import(dist('transforms/downsample/downsampler.js'))) as {
    Downsampler: DownsamplerCtor;
  };
  const { ddSketchOps } = (await import(dist('transforms/downsample/ddsketch-ops.js'))) as { ddSketchOps: object };
  const { DeltaReader } = (await import(dist('self/delta-reader.js'))) as { DeltaReader: new () => MetricReader };
  return { Downsampler, ddSketchOps, DeltaReader };
}

/**
 * Real values: series i follows one NAB CloudWatch series (CPU %, network bytes, disk bytes,
 * request counts), starting at its own offset, one sample per scrape.
 */
async function workload(series: number, scrapes: number): Promise<Sample[][]> {
  const files = (await readdir(NAB)).filter((f) => f.endsWith('.csv')).sort();
  const sources: number[][] = [];
  for (const f of files)
    sources.push(
      (await readFile(path.join(NAB, f), 'utf8'))
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => Number(l.split(',')[1])),
    );
  const names = Array.from({ length: series }, (_, i) => ({ container: `c${Math.floor(i / 8)}`, metric: `m${i % 8}` }));
  return Array.from({ length: scrapes }, (_, s) =>
    names.map((n, i) => {
      const src = sources[i % sources.length] as number[];
      return { ...n, value: src[(i * 7 + s) % src.length] as number, ts: s * 10_000, kind: 'gauge' as const };
    }),
  );
}

const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const gc: () => void = (() => {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
})();

/** Our downsampler: 6 scrapes per 60 s window, flushed at each boundary. */
function runOurs(D: DownsamplerCtor, sketches: object, scrapes: Sample[][]): void {
  const d = new D({ windowMs: 60_000, maxSeries: 1_000_000 }, { sketches, report: { drop: () => undefined } });
  for (let s = 0; s < scrapes.length; s++) {
    d.ingest('bench', { samples: scrapes[s] as Sample[] });
    if (s % 6 === 5) d.flush((s + 1) * 10_000);
  }
}

/**
 * The same summary with the OTel SDK: an exponential histogram (min, max, sum, count and
 * mergeable buckets, the SDK's sketch) plus a gauge for `last`, DELTA reader collected per window.
 */
function otelSummary(DeltaReader: new () => MetricReader, series: number) {
  const reader = new DeltaReader();
  const mp = new MeterProvider({
    readers: [reader],
    views: [
      {
        instrumentName: 'value',
        aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM },
        aggregationCardinalityLimit: series + 10,
      },
      { instrumentName: 'last', aggregationCardinalityLimit: series + 10 },
    ],
  });
  const meter = mp.getMeter('bench');
  return { reader, mp, h: meter.createHistogram('value'), g: meter.createGauge('last') };
}

async function runOtel(DeltaReader: new () => MetricReader, scrapes: Sample[][], series: number): Promise<void> {
  const { reader, mp, h, g } = otelSummary(DeltaReader, series);
  const attrs = (scrapes[0] as Sample[]).map((s) => ({ container: s.container, metric: s.metric }));
  for (let s = 0; s < scrapes.length; s++) {
    const batch = scrapes[s] as Sample[];
    for (let i = 0; i < batch.length; i++) {
      const a = attrs[i] as { container: string; metric: string };
      const v = (batch[i] as Sample).value;
      h.record(v, a);
      g.record(v, a);
    }
    if (s % 6 === 5) await reader.collect();
  }
  await mp.shutdown();
}

const throughput: BenchCase = {
  name: 'metrics.samples_per_s_per_core',
  async run(): Promise<Figure[]> {
    const { Downsampler, ddSketchOps, DeltaReader } = await loadCollector();
    const series = 2000;
    const scrapes = await workload(series, 60); // 120k samples, 10 windows
    const samples = series * scrapes.length;
    const ours: number[] = [];
    const otel: number[] = [];
    for (let r = 0; r < 5; r++) {
      gc();
      let t = cpuSeconds();
      runOurs(Downsampler, ddSketchOps, scrapes);
      ours.push(samples / (cpuSeconds() - t));
      gc();
      t = cpuSeconds();
      await runOtel(DeltaReader, scrapes, series);
      otel.push(samples / (cpuSeconds() - t));
    }
    const value = median(ours);
    const baseline = median(otel);
    return [
      {
        name: 'metrics.samples_per_s_per_core',
        value,
        unit: 'samples/CPU-s',
        baseline,
        ratio: value / baseline,
        note: `downsampler incl. DDSketch, ${series} series, 60 s windows; baseline @opentelemetry/sdk-metrics exp. histogram + gauge, DELTA; median of 5 interleaved runs`,
      },
    ];
  },
};

function heapPerSeries(series: number, fill: (n: number) => unknown): number {
  gc();
  const before = process.memoryUsage().heapUsed;
  const keep = fill(series);
  gc();
  const after = process.memoryUsage().heapUsed;
  if (keep === undefined) throw new Error('unreachable');
  return (after - before) / series;
}

const memory: BenchCase = {
  name: 'metrics.bytes_per_series',
  async run(): Promise<Figure[]> {
    const { Downsampler, ddSketchOps, DeltaReader } = await loadCollector();
    const series = 20_000;
    const scrapes = await workload(series, 6); // one full 60 s window per series, not yet flushed
    const ours: number[] = [];
    const otel: number[] = [];
    for (let r = 0; r < 3; r++) {
      ours.push(
        heapPerSeries(series, () => {
          const d = new Downsampler(
            { windowMs: 60_000, maxSeries: 1_000_000 },
            { sketches: ddSketchOps, report: { drop: () => undefined } },
          );
          for (const s of scrapes) d.ingest('bench', { samples: s });
          return d;
        }),
      );
      otel.push(
        heapPerSeries(series, () => {
          const { mp, h, g } = otelSummary(DeltaReader, series);
          for (const s of scrapes)
            for (const x of s) {
              const a = { container: x.container, metric: x.metric };
              h.record(x.value, a);
              g.record(x.value, a);
            }
          return mp;
        }),
      );
    }
    const value = median(ours);
    const baseline = median(otel);
    return [
      {
        name: 'metrics.bytes_per_series',
        value,
        unit: 'bytes',
        baseline,
        ratio: value / baseline,
        note: `heap per series after 6 samples (one 60 s window, sketch included), ${series} series; baseline OTel SDK exp. histogram + gauge; a sketch is capped at 2 x 2048 bins`,
      },
    ];
  },
};

/** Runs `code` as an ES module in a fresh node process and returns what it prints as JSON. */
function child(code: string, args: string[]): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', code, '--', ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('exit', (c) =>
      c === 0 ? resolve(JSON.parse(out) as Record<string, number>) : reject(new Error(`child exited ${c}`)),
    );
  });
}

const CYCLES = 60;
const SCRAPE_S = 10;

const collectorCode = `
const [sock, cycles] = process.argv.slice(-2);
const { DockerSource } = await import(${JSON.stringify(dist('sources/docker/docker-source.js'))});
const { Downsampler } = await import(${JSON.stringify(dist('transforms/downsample/downsampler.js'))});
const { ddSketchOps } = await import(${JSON.stringify(dist('transforms/downsample/ddsketch-ops.js'))});
const src = new DockerSource({ socketPath: sock });
const d = new Downsampler({}, { sketches: ddSketchOps, report: { drop() {} } });
let now = 0;
const cycle = async (i) => {
  const r = await src.scrape(now);
  if (r.samples.length === 0) throw new Error('no samples from ' + sock);
  d.ingest('docker', r);
  now += ${SCRAPE_S * 1000};
  if (i % 6 === 5) d.flush(now);
};
for (let i = 0; i < 6; i++) await cycle(i);
globalThis.gc();
const c0 = process.cpuUsage();
for (let i = 0; i < Number(cycles); i++) await cycle(i);
const c = process.cpuUsage(c0);
globalThis.gc();
await new Promise((r) => setTimeout(r, 200));
console.log(JSON.stringify({ cpuSecPerCycle: (c.user + c.system) / 1e6 / Number(cycles), rss: process.memoryUsage.rss(), series: d.seriesCount }));
await src.close();
`;

const idleCode = `
await new Promise((r) => setTimeout(r, 500));
const c0 = process.cpuUsage();
const t0 = performance.now();
await new Promise((r) => setTimeout(r, 3000));
const c = process.cpuUsage(c0);
globalThis.gc();
await new Promise((r) => setTimeout(r, 200));
console.log(JSON.stringify({ cpuPct: ((c.user + c.system) / 1000 / (performance.now() - t0)) * 100, rss: process.memoryUsage.rss() }));
`;

const collector50: BenchCase = {
  name: 'collector.50_containers',
  async run(): Promise<Figure[]> {
    const { loadStatsFixtures, replicateContainers, startReplayServer } = (await import(
      dist('sources/docker/replay-server.js')
    )) as typeof import('../packages/collector/src/sources/docker/replay-server.js');
    const dir = await mkdtemp(path.join(tmpdir(), 'bench-docker-'));
    const server = await startReplayServer(
      path.join(dir, 'docker.sock'),
      replicateContainers(await loadStatsFixtures(), 50),
    );
    try {
      const runs: Array<{ col: Record<string, number>; idle: Record<string, number> }> = [];
      for (let r = 0; r < 3; r++)
        runs.push({
          col: await child(collectorCode, [server.socketPath, String(CYCLES)]),
          idle: await child(idleCode, []),
        });
      const idleCpu = median(runs.map((x) => x.idle.cpuPct as number));
      const idleRss = median(runs.map((x) => x.idle.rss as number)) / 2 ** 20;
      const workCpu = median(runs.map((x) => ((x.col.cpuSecPerCycle as number) / SCRAPE_S) * 100));
      const rss = median(runs.map((x) => x.col.rss as number)) / 2 ** 20;
      const cpu = workCpu + idleCpu;
      return [
        {
          name: 'collector.cpu_pct_of_core',
          value: cpu,
          unit: '% of one core',
          baseline: idleCpu,
          ratio: cpu / idleCpu,
          note: `50 containers from the Docker replay engine, ${SCRAPE_S} s scrape, time-compressed: CPU-s per scrape cycle (list + 50 stats + downsample, median of 3 x ${CYCLES} cycles) / ${SCRAPE_S} s, plus the idle Node.js process's own rate (baseline); metrics side only (no uplink, no logs)`,
        },
        {
          name: 'collector.rss_mib',
          value: rss,
          unit: 'MiB',
          baseline: idleRss,
          ratio: rss / idleRss,
          note: 'RSS after the scrape cycles (after GC) of the same process; baseline an idle Node.js process; metrics side only',
        },
      ];
    } finally {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export const benches: BenchCase[] = [throughput, memory, collector50];
