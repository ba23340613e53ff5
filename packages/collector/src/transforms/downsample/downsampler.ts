import type { MetricSummary } from '@edge-telemetry/protocol';
import type { HistogramSample, Sample, ScrapeResult } from '../../sources/types.js';
import { resolveDownsampleOptions, type DownsampleOptions } from './options.js';
import {
  newSeries,
  recordCounter,
  recordHistogram,
  recordValue,
  resetWindow,
  summarize,
  type SeriesState,
} from './series.js';
import { histogramDelta } from './histogram.js';
import type { SketchOps } from './sketch.js';
import type { DropReport } from '../../batch/drops.js';
import { createTally } from '@edge-telemetry/protocol/net';

export interface DownsamplerDeps {
  sketches: SketchOps;
  /** Receives the cardinality and invalid-value drops. */
  report: DropReport;
}

export interface IngestOptions {
  /**
   * Mark a gap on every series of this source that got no sample (default). Off for sources that
   * push (OTLP): a request carries the series that changed, not every series there is.
   */
  gaps?: boolean;
  /**
   * Most series this source may hold, within the downsampler's `maxSeries`: one application's
   * attribute explosion then costs its own series, not the containers'.
   */
  maxSeries?: number;
  /**
   * Most series one container may hold of this source's, within `maxSeries`: the source's
   * applications (OTLP: one per container its resources name) then cannot take each other's
   * share; one that exploded its attributes held all of them, and the others got none.
   */
  maxContainerSeries?: number;
  /**
   * Most series all sources of this one's group hold together, within `maxSeries`: a source
   * named `<group>/<name>` is one of several of a kind (the Prometheus targets, each a source of
   * its own for its gaps), which beside their own caps share one, so that together they cannot
   * take the series of the containers' metrics.
   */
  maxGroupSeries?: number;
  /**
   * Drop (and count) a point at or before its series' latest: for sources whose points carry the
   * application's own times (OTLP: retried requests, several exporters). Off for scrapes, whose
   * samples the collector stamps itself (a counter's repeated time yields no rate either way).
   */
  ordered?: boolean;
}

interface Limits {
  cap: number;
  containerCap: number;
  groupCap: number;
  ordered: boolean;
}

/** Separates a series' metric name from its attributes in the key of the per-container map. */
const ATTRS_SEPARATOR = '\u0000';

/**
 * Aggregates raw samples into summary windows: per series min, max, sum, count, last, gaps,
 * resets and a quantile sketch; counters leave as per-second rates, histogram points add their
 * observations. A series is container x metric, plus the attributes of applications' series.
 * Pure: no clock, no I/O. The caller flushes at each window boundary before it ingests samples of
 * the next window.
 */
export class Downsampler {
  readonly options: DownsampleOptions;
  /** container -> metric (and attributes) -> state: two lookups and no key string built per container sample. */
  private readonly series = new Map<string, Map<string, SeriesState>>();
  private size = 0;
  /** Series held by source, and by source and container where a source caps its containers (containerKey). */
  private readonly held = createTally();
  private scrapeSeq = 0;

  constructor(
    options: Partial<DownsampleOptions>,
    private readonly deps: DownsamplerDeps,
  ) {
    this.options = resolveDownsampleOptions(options);
  }

  get seriesCount(): number {
    return this.size;
  }

  /**
   * Adds one scrape of one source (or one request of a pushing source). Unless `gaps` is off,
   * every series that source produced before and that got no sample now gains a gap (container
   * stopped, read failed): marked, never filled in.
   */
  ingest(source: string, result: Pick<ScrapeResult, 'samples' | 'histograms'>, opts: IngestOptions = {}): void {
    const seq = ++this.scrapeSeq;
    const lim: Limits = {
      cap: opts.maxSeries ?? Infinity,
      containerCap: opts.maxContainerSeries ?? Infinity,
      groupCap: opts.maxGroupSeries ?? Infinity,
      ordered: opts.ordered === true,
    };
    const samples = result.samples;
    for (let i = 0; i < samples.length; i++) this.add(source, samples[i] as Sample, seq, lim);
    for (const h of result.histograms ?? []) this.addHistogram(source, h, seq, lim);
    if (opts.gaps === false) return;
    for (const byMetric of this.series.values()) {
      for (const st of byMetric.values()) if (st.source === source && st.touched !== seq) st.gaps++;
    }
  }

  /** The per-sample hot path. */
  private add(source: string, s: Sample, seq: number, lim: Limits): void {
    if (!Number.isFinite(s.value)) {
      this.deps.report.drop({ stage: 'metrics.downsample', reason: 'not_finite', container: s.container });
      return;
    }
    const st = this.state(source, s, s.kind, seq, lim);
    if (st === undefined) return;
    if (st.counter) recordCounter(st, s.value, s.ts, this.deps.sketches);
    else recordValue(st, s.value, this.deps.sketches);
  }

  private addHistogram(source: string, h: HistogramSample, seq: number, lim: Limits): void {
    const st = this.state(source, h, 'histogram', seq, lim);
    if (st === undefined) return;
    if (h.temporality === 'delta') return recordHistogram(st, h.histogram, this.deps.sketches);
    const prev = st.prevHistogram;
    st.prevHistogram = h.histogram;
    // Like a counter's first value, a cumulative histogram's first point is only the base of the next.
    if (prev === null) return;
    const d = histogramDelta(h.histogram, prev);
    if (!d.ok) {
      this.deps.report.drop({ stage: 'metrics.downsample', reason: 'buckets_changed', container: h.container });
      return;
    }
    if (d.reset) st.resets++;
    recordHistogram(st, d.delta, this.deps.sketches);
  }

  /** Which cap a new series of `source` and `container` would pass, if any. */
  private capReached(source: string, container: string, lim: Limits): string | undefined {
    if (this.size >= this.options.maxSeries) return 'series_cap';
    if (this.held.get(source) >= lim.cap) return 'source_series_cap';
    if (lim.groupCap !== Infinity && this.held.get(groupOf(source)) >= lim.groupCap) return 'source_series_cap';
    if (lim.containerCap !== Infinity && this.held.get(containerKey(source, container)) >= lim.containerCap)
      return 'container_series_cap';
    return undefined;
  }

  /**
   * The series a sample belongs to, made when new (within the caps); undefined when the sample is
   * dropped (caps, a time at or before the series' latest, another kind than the series').
   */
  private state(
    source: string,
    s: Pick<Sample, 'container' | 'metric' | 'ts' | 'attrs'>,
    kind: 'gauge' | 'counter' | 'histogram',
    seq: number,
    lim: Limits,
  ): SeriesState | undefined {
    const key = s.attrs === undefined ? s.metric : s.metric + ATTRS_SEPARATOR + attrsKey(s.attrs);
    let byMetric = this.series.get(s.container);
    let st = byMetric?.get(key);
    if (st === undefined) {
      const reason = this.capReached(source, s.container, lim);
      if (reason !== undefined) {
        this.deps.report.drop({ stage: 'metrics.cardinality', reason, container: s.container });
        return undefined;
      }
      if (byMetric === undefined) {
        byMetric = new Map();
        this.series.set(s.container, byMetric);
      }
      st = newSeries(s.container, s.metric, kind, source, s.attrs);
      byMetric.set(key, st);
      this.size++;
      const heldUnder = [source];
      if (lim.containerCap !== Infinity) heldUnder.push(containerKey(source, s.container));
      if (lim.groupCap !== Infinity) heldUnder.push(groupOf(source));
      for (const k of heldUnder) this.held.add(k, 1);
      st.heldUnder = heldUnder;
    }
    if (st.counter !== (kind === 'counter') || st.histogram !== (kind === 'histogram')) {
      this.deps.report.drop({ stage: 'metrics.downsample', reason: 'kind_changed', container: s.container });
      return undefined;
    }
    st.touched = seq;
    if (lim.ordered && s.ts <= st.lastTs) {
      const reason = s.ts === st.lastTs ? 'duplicate' : 'out_of_order';
      this.deps.report.drop({ stage: 'metrics.downsample', reason, container: s.container });
      return undefined;
    }
    st.lastTs = s.ts;
    st.seen++;
    return st;
  }

  /**
   * Closes the window [start, windowEnd) (a whole window unless `start` is given: a stop or a
   * flush closes the open one where it stands, and its summaries must say the window they belong
   * to, not the minute before): returns a summary for every series that had values or gaps in it,
   * starts the next window, and forgets series idle for `evictAfterWindows` windows.
   */
  flush(windowEnd: number, start = windowEnd - this.options.windowMs): MetricSummary[] {
    const out: MetricSummary[] = [];
    for (const [container, byMetric] of this.series) {
      for (const [key, st] of byMetric) {
        if (st.count > 0 || st.gaps > 0) out.push(summarize(st, start, windowEnd, this.options.significantDigits));
        resetWindow(st);
        if (st.idleWindows >= this.options.evictAfterWindows) {
          byMetric.delete(key);
          this.size--;
          for (const k of st.heldUnder) this.held.add(k, -1);
        }
      }
      if (byMetric.size === 0) this.series.delete(container);
    }
    return out;
  }
}

/** The group of a source named `<group>/<name>`, keyed apart from any source's own name. */
function groupOf(source: string): string {
  const slash = source.indexOf('/');
  return `${slash < 0 ? source : source.slice(0, slash)}/`;
}

/** The key of a container's series within a source's. */
function containerKey(source: string, container: string): string {
  return `${source}\u0000${container}`;
}

/** The attributes as one string, whatever order their keys came in. */
function attrsKey(attrs: Readonly<Record<string, string>>): string {
  const keys = Object.keys(attrs).sort();
  let k = '';
  for (const name of keys) k += `${name}\u0001${attrs[name] as string}\u0002`;
  return k;
}
