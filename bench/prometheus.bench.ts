/**
 * The Prometheus source's cost on real targets: Debian's node exporter and the Prometheus server's
 * own /metrics, started here on loopback. Two figures, each against the alternative measured in the
 * same run:
 * - parse: our streaming parser with the family stage (roles, limits, duplicates) against the most
 *   used npm parser, parse-prometheus-text-format, on the same bodies (CPU ms per 1000 series);
 * - scrape: the whole source (HTTP, parse, families, downsampler ingest) against HTTP GET plus that
 *   library's parse of the same targets (CPU ms of this process per 1000 series; the exporters' own
 *   CPU is theirs and not counted).
 * The library's correctness on the same bodies goes in the note (labelled histograms it merges).
 */
import http from 'node:http';
import { createRequire } from 'node:module';
import { median, type BenchCase, type Figure } from './harness.js';
import { ExpositionParser } from '../packages/collector/src/sources/prometheus/exposition-parser.js';
import { FamilyCollector } from '../packages/collector/src/sources/prometheus/families.js';
import { PrometheusSource } from '../packages/collector/src/sources/prometheus/prometheus-source.js';
import { Downsampler } from '../packages/collector/src/transforms/downsample/downsampler.js';
import { ddSketchOps } from '../packages/collector/src/transforms/downsample/ddsketch-ops.js';
import { DropCounter } from '../packages/collector/src/batch/drops.js';
import { startNodeExporter, startPrometheusServer, type Exporter } from '../test/support/exporters.js';

interface LibFamily {
  name: string;
  type: string;
  metrics: Array<{ buckets?: Record<string, string> }>;
}
const parseLibrary = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => LibFamily[];

const LIMITS = { maxSeries: 1_000_000, maxLabels: 64, maxLabelValueLength: 65536 };
const ROUNDS = 5;

function cpuMs(fn: () => void): number {
  const t0 = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1000;
}

async function cpuMsAsync(fn: () => Promise<void>): Promise<number> {
  const t0 = process.cpuUsage();
  await fn();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1000;
}

function parseOurs(body: string): { series: number; histograms: number } {
  const f = new FamilyCollector(LIMITS, ['instance', 'bench:0', 'job', 'bench']);
  const p = new ExpositionParser({ format: 'text', maxLineBytes: 65536 }, f);
  p.push(body);
  p.end();
  const histograms = f.finish();
  return {
    series: f.points.length + histograms.reduce((n, h) => n + h.bounds.length, 0),
    histograms: histograms.length,
  };
}

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        res.setEncoding('utf8');
        let body = '';
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

/** A few API calls, so that the server's per-handler histograms have several label sets, as on a server in use. */
const API_CALLS = ['/api/v1/query?query=up', '/api/v1/status/config', '/api/v1/labels', '/-/ready', '/api/v1/targets'];

async function withTargets<T>(fn: (targets: Exporter[]) => Promise<T>): Promise<T> {
  const targets = [await startNodeExporter(), await startPrometheusServer()];
  const server = new URL((targets[1] as Exporter).url).origin;
  for (const call of API_CALLS) await get(server + call);
  try {
    return await fn(targets);
  } finally {
    for (const t of targets) await t.stop();
  }
}

const parse: BenchCase = {
  name: 'prometheus.parse',
  run: () =>
    withTargets(async (targets) => {
      const bodies = await Promise.all(targets.map((t) => get(t.url)));
      const ours = bodies.map(parseOurs);
      const series = ours.reduce((n, o) => n + o.series, 0);
      const lib = bodies.map(parseLibrary);
      // What the library makes of the Prometheus server's labelled histograms: one entry per family.
      const libHistograms = lib
        .flat()
        .filter((f) => f.type === 'HISTOGRAM')
        .reduce((n, f) => n + f.metrics.length, 0);
      const ourHistograms = ours.reduce((n, o) => n + o.histograms, 0);
      const iterations = 100;
      const oursMs: number[] = [];
      const libMs: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        oursMs.push(
          cpuMs(() => {
            for (let i = 0; i < iterations; i++) for (const b of bodies) parseOurs(b);
          }),
        );
        libMs.push(
          cpuMs(() => {
            for (let i = 0; i < iterations; i++) for (const b of bodies) parseLibrary(b);
          }),
        );
      }
      const per1000 = (ms: number) => (ms / iterations / series) * 1000;
      const value = per1000(median(oursMs));
      const baseline = per1000(median(libMs));
      const figure: Figure = {
        name: 'prometheus.parse_cpu_ms_per_1000_series',
        value,
        unit: 'CPU ms',
        baseline,
        ratio: value / baseline,
        note: `our streaming parser + family stage on the node exporter's and the Prometheus server's real bodies (${series} series, ${bodies.reduce((n, b) => n + b.length, 0)} B); baseline parse-prometheus-text-format 1.1.1 (parse only), same bodies, median of ${ROUNDS} interleaved rounds; it gives ${libHistograms} histogram series where the bodies have ${ourHistograms}${libHistograms < ourHistograms ? " (a family's labelled histograms merged into one)" : ''} and reads no OpenMetrics`,
      };
      return [figure];
    }),
};

const scrape: BenchCase = {
  name: 'prometheus.scrape',
  run: () =>
    withTargets(async (targets) => {
      const downsampler = new Downsampler({}, { sketches: ddSketchOps, report: new DropCounter() });
      let samples = 0;
      let pending = 0;
      let done: (() => void) | undefined;
      const source = new PrometheusSource(
        { static: targets.map((t) => ({ url: t.url })), maxSeries: 100_000 },
        {
          scrapeIntervalMs: 1000,
          sink: (name, r) => {
            // Series as exposition lines taken: samples, and a histogram's bucket lines (+Inf included).
            samples +=
              r.samples.length +
              (r.histograms ?? []).reduce(
                (n, h) => n + (h.histogram.kind === 'explicit' ? h.histogram.counts.length : 0),
                0,
              );
            downsampler.ingest(name, r);
            if (--pending === 0) done?.();
          },
        },
      );
      let tick = 0;
      const scrapeAll = async () => {
        pending = targets.length;
        const finished = new Promise<void>((r) => (done = r));
        await source.scrape(++tick * 1000);
        await finished;
        // The sink runs just before a scrape's end is recorded: let that settle before the next tick.
        await new Promise((r) => setImmediate(r));
      };
      const baselineAll = async () => {
        const bodies = await Promise.all(targets.map((t) => get(t.url)));
        for (const b of bodies) parseLibrary(b);
      };
      await scrapeAll(); // warm: connections, JIT, series created
      await baselineAll();
      const cycles = 30;
      const oursMs: number[] = [];
      const libMs: number[] = [];
      let seriesPerCycle = 0;
      for (let r = 0; r < ROUNDS; r++) {
        samples = 0;
        oursMs.push(
          await cpuMsAsync(async () => {
            for (let i = 0; i < cycles; i++) await scrapeAll();
          }),
        );
        seriesPerCycle = samples / cycles;
        libMs.push(
          await cpuMsAsync(async () => {
            for (let i = 0; i < cycles; i++) await baselineAll();
          }),
        );
        downsampler.flush(tick * 1000);
      }
      await source.close();
      const per1000 = (ms: number) => (ms / cycles / seriesPerCycle) * 1000;
      const value = per1000(median(oursMs));
      const baseline = per1000(median(libMs));
      return [
        {
          name: 'prometheus.scrape_cpu_ms_per_1000_series',
          value,
          unit: 'CPU ms',
          baseline,
          ratio: value / baseline,
          note: `whole source (HTTP keep-alive, streaming parse, families, up, downsampler ingest with histograms) over the node exporter and the Prometheus server (${Math.round(seriesPerCycle)} series per cycle: samples incl. histogram _sum/_count, and histogram buckets into the window's sketch), ${cycles} cycles back to back, median of ${ROUNDS} interleaved rounds; baseline HTTP GET + parse-prometheus-text-format of the same targets; this process's CPU only`,
        },
      ];
    }),
};

export const benches: BenchCase[] = [parse, scrape];
