import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { createNoopMeter, type Counter, type Meter } from '@opentelemetry/api';
import type { HistogramSample, MetricSource, Sample, ScrapeResult } from '../types.js';
import type { DropReport } from '../../batch/drops.js';
import { CollectorError, type CollectorErrorCode } from '../../errors.js';
import { silentLog, type MetricsLog } from '../../self/log.js';
import { ExpositionParser } from './exposition-parser.js';
import { explicitHistogram, FamilyCollector, type ScrapedHistogram, type ScrapedPoint } from './families.js';
import { httpScrape } from './http-scrape.js';
import { resolvePrometheusSourceOptions, type PrometheusSourceOptions } from './options.js';
import { discoverTargets, type ListedContainer, type Target } from './targets.js';

export interface PrometheusSourceDeps {
  /** The collector's tick; target intervals are multiples of it. */
  scrapeIntervalMs: number;
  /**
   * Where each finished target scrape goes (the downsampler), under a source name of the target's
   * own: a target that fails or vanishes leaves gaps in its own series only.
   */
  sink: (source: string, result: Pick<ScrapeResult, 'samples' | 'histograms'>) => void;
  /** The containers the Docker source listed last (label discovery); none without it. */
  containers?: () => readonly ListedContainer[];
  report?: DropReport;
  log?: MetricsLog;
  meter?: Meter;
}

interface TargetState {
  target: Target;
  inFlight: Promise<void> | undefined;
  /** The code of the last failure, so that a target failing every scrape logs once, not every time. */
  lastCode: CollectorErrorCode | 'ok' | undefined;
  /** The target's own timestamps of its points at the last successful scrape, by series. */
  times: ReadonlyMap<string, number>;
}

const STAGE = 'sources.prometheus';

/** Scrapes waiting for a slot, and those running. */
interface Lane {
  queue: Array<() => Promise<void>>;
  running: number;
}

/**
 * Scrapes Prometheus targets (static, and containers labelled `prometheus.io/scrape=true`). At each
 * collector tick it starts the scrapes of the targets due then and returns at once, so a slow target
 * never holds up the other sources; each scrape hands its samples to the sink when it ends, stamped
 * with the tick (so a counter's rate is its increase over exactly the interval). `up` (1 or 0) and
 * `scrape_duration_seconds` are recorded per target as Prometheus does. A target that disappears
 * gets one empty scrape (a gap in each of its series: stale), then nothing; the downsampler forgets
 * its series after `evictAfterWindows`.
 */
export class PrometheusSource implements MetricSource {
  readonly name = 'prometheus';
  readonly options: PrometheusSourceOptions;
  private readonly states = new Map<string, TargetState>();
  /**
   * Scrapes wait in one of two lanes of `concurrency` slots each: the targets whose last scrape
   * failed (down, or accepting and sending nothing until their timeout) in their own, so that a few
   * of them cannot hold every slot while the targets that answer fail "previous scrape still running".
   */
  private readonly lanes: Record<'answering' | 'failing', Lane> = {
    answering: { queue: [], running: 0 },
    failing: { queue: [], running: 0 },
  };
  private readonly abort = new AbortController();
  private readonly agents = {
    http: new http.Agent({ keepAlive: true, maxSockets: 64 }),
    https: new https.Agent({ keepAlive: true, maxSockets: 64 }),
  };
  private readonly log: MetricsLog;
  private readonly scrapes: Counter;
  private readonly failures: Counter;
  private readonly samplesCounter: Counter;
  private readonly drops: Counter;
  private bodyBytes = 0;
  /** What discovery could not use, by description: logged once each. */
  private readonly reportedInvalid = new Set<string>();

  constructor(
    options: Partial<PrometheusSourceOptions>,
    private readonly deps: PrometheusSourceDeps,
  ) {
    this.options = resolvePrometheusSourceOptions(options);
    this.log = deps.log ?? silentLog;
    const meter = deps.meter ?? createNoopMeter();
    this.scrapes = meter.createCounter('collector.prometheus.scrapes', { description: 'target scrapes started' });
    this.failures = meter.createCounter('collector.prometheus.failures', {
      description: 'target scrapes that failed, by error code',
    });
    this.samplesCounter = meter.createCounter('collector.prometheus.samples', {
      description: 'samples taken from targets',
    });
    this.drops = meter.createCounter('collector.prometheus.drops', {
      description: 'exposition lines and series dropped, by reason',
    });
    const targets = meter.createObservableGauge('collector.prometheus.targets', { description: 'targets scraped' });
    targets.addCallback((r) => r.observe(this.states.size));
  }

  /** The targets scraped now (tests, the API of the runtime). */
  targets(): Target[] {
    return [...this.states.values()].map((s) => s.target);
  }

  async scrape(now: number): Promise<ScrapeResult> {
    this.refresh();
    for (const st of this.states.values()) {
      if (now % st.target.intervalMs !== 0) continue;
      if (st.inFlight) {
        this.fail(
          st,
          new CollectorError('ET_ERR_PROM_TIMEOUT', `${st.target.url.href}: previous scrape still running`),
        );
        continue;
      }
      const lane = this.lanes[st.lastCode === undefined || st.lastCode === 'ok' ? 'answering' : 'failing'];
      st.inFlight = this.enqueue(lane, () => this.scrapeTarget(st, now)).finally(() => (st.inFlight = undefined));
    }
    const rawBytes = this.bodyBytes;
    this.bodyBytes = 0;
    return { samples: [], containers: [], rawBytes };
  }

  async close(): Promise<void> {
    // Queued scrapes run on and end at once (aborted): each settles its target's inFlight.
    this.abort.abort();
    await Promise.all([...this.states.values()].map((s) => s.inFlight));
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private refresh(): void {
    const d = discoverTargets(this.options, this.deps.scrapeIntervalMs, this.deps.containers?.() ?? []);
    for (const msg of d.invalid) {
      if (this.reportedInvalid.has(msg)) continue;
      this.reportedInvalid.add(msg);
      this.failures.add(1, { code: 'ET_ERR_PROM_TARGET' });
      this.log({ level: 'warn', code: 'ET_ERR_PROM_TARGET', msg });
    }
    if (d.overLimit > 0) this.drop('target_limit', '', d.overLimit);
    const current = new Set(d.targets.map((t) => t.key));
    for (const [key, st] of this.states) {
      if (current.has(key)) continue;
      // Gone: one empty scrape marks every series of it as a gap in this window (stale).
      this.states.delete(key);
      this.deps.sink(sourceName(st.target), { samples: [] });
      this.log({
        level: 'info',
        code: 'ET_ERR_PROM_TARGET',
        msg: `target ${st.target.url.href} is gone; its series are stale`,
        fields: { container: st.target.container },
      });
    }
    for (const t of d.targets)
      if (!this.states.has(t.key))
        this.states.set(t.key, { target: t, inFlight: undefined, lastCode: undefined, times: new Map() });
  }

  private enqueue(lane: Lane, job: () => Promise<void>): Promise<void> {
    return new Promise<void>((resolve) => {
      lane.queue.push(() => job().finally(resolve));
      this.pump(lane);
    });
  }

  private pump(lane: Lane): void {
    while (lane.running < this.options.concurrency && lane.queue.length > 0) {
      const job = lane.queue.shift() as () => Promise<void>;
      lane.running++;
      void job().finally(() => {
        lane.running--;
        this.pump(lane);
      });
    }
  }

  private async scrapeTarget(st: TargetState, tick: number): Promise<void> {
    if (this.abort.signal.aborted || !this.states.has(st.target.key)) return;
    const t = st.target;
    const o = this.options;
    this.scrapes.add(1);
    const families = new FamilyCollector(
      { maxSeries: o.maxSeries, maxLabels: o.maxLabels, maxLabelValueLength: o.maxLabelValueLength },
      ['instance', t.instance, 'job', t.job],
      st.times,
    );
    let parser: ExpositionParser | undefined;
    const started = performance.now();
    let up = 0;
    const samples: Sample[] = [];
    const histograms: HistogramSample[] = [];
    try {
      const r = await httpScrape(
        t.url,
        { timeoutMs: t.timeoutMs, maxBodyBytes: o.maxBodyBytes, agents: this.agents, signal: this.abort.signal },
        (format) => (parser = new ExpositionParser({ format, maxLineBytes: o.maxLineBytes }, families)),
      );
      this.bodyBytes += r.bodyBytes;
      if (parser && !parser.complete)
        throw new CollectorError('ET_ERR_PROM_TRUNCATED', `${t.url.href}: OpenMetrics body without # EOF`);
      for (const p of families.points) samples.push(toSample(t, p, tick));
      for (const h of families.finish()) histograms.push(toHistogramSample(t, h, tick));
      up = 1;
      st.times = families.times;
      this.ok(st, families);
    } catch (err) {
      if (this.abort.signal.aborted) return;
      this.fail(st, err);
    }
    this.reportDrops(t, families);
    const seconds = (performance.now() - started) / 1000;
    const own = ['instance', t.instance, 'job', t.job];
    samples.push(
      toSample(t, { metric: 'up', labels: own, value: up, kind: 'gauge' }, tick),
      toSample(t, { metric: 'scrape_duration_seconds', labels: own, value: seconds, kind: 'gauge' }, tick),
    );
    this.samplesCounter.add(samples.length - 2 + histograms.length);
    if (this.states.has(t.key)) this.deps.sink(sourceName(t), { samples, histograms });
  }

  private ok(st: TargetState, families: FamilyCollector): void {
    const bad = families.errors;
    if (bad.length > 0)
      this.log({
        level: 'warn',
        code: 'ET_ERR_PROM_BAD_LINES',
        msg: `${st.target.url.href}: skipped lines (${bad.join('; ')})`,
        fields: { container: st.target.container },
      });
    const limited = (families.drops.get('series_limit') ?? 0) + (families.drops.get('label_limit') ?? 0);
    if (limited > 0 && st.lastCode !== 'ok')
      this.log({
        level: 'warn',
        code: 'ET_ERR_PROM_LIMIT',
        msg: `${st.target.url.href}: ${limited} series over maxSeries (${this.options.maxSeries}) or the label limits dropped`,
        fields: { container: st.target.container },
      });
    if (st.lastCode !== undefined && st.lastCode !== 'ok')
      this.log({ level: 'info', code: st.lastCode, msg: `${st.target.url.href}: up again` });
    st.lastCode = 'ok';
  }

  private fail(st: TargetState, err: unknown): void {
    const code = err instanceof CollectorError ? err.code : 'ET_ERR_PROM_CONNECT';
    this.failures.add(1, { code });
    if (st.lastCode === code) return; // the same failure as last time: counted, not logged again
    st.lastCode = code;
    this.log({
      level: 'warn',
      code,
      msg: `scrape of ${st.target.url.href} failed: ${(err as Error).message}`,
      fields: { container: st.target.container },
    });
  }

  private reportDrops(t: Target, families: FamilyCollector): void {
    for (const [reason, n] of families.drops) this.drop(reason, t.container, n);
  }

  private drop(reason: string, container: string, n: number): void {
    this.drops.add(n, { reason });
    this.deps.report?.drop({ stage: STAGE, reason, container }, n);
  }
}

function sourceName(t: Target): string {
  return `prometheus/${t.key}`;
}

/** `p.labels` are the series' whole attribute set (the target's own included), sorted by name. */
function toSample(t: Target, p: ScrapedPoint, ts: number): Sample {
  return { container: t.container, metric: p.metric, value: p.value, ts, kind: p.kind, attrs: toAttrs(p.labels) };
}

/** A classic histogram's buckets go into the window's sketch (its `_sum` and `_count` are also rates). */
function toHistogramSample(t: Target, h: ScrapedHistogram, ts: number): HistogramSample {
  return {
    container: t.container,
    metric: h.metric,
    ts,
    attrs: toAttrs(h.labels),
    temporality: 'cumulative',
    histogram: explicitHistogram(h),
  };
}

function toAttrs(labels: readonly string[]): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (let i = 0; i < labels.length; i += 2) attrs[labels[i] as string] = labels[i + 1] as string;
  return attrs;
}
