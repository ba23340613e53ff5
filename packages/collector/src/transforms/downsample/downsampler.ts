import type { MetricSummary } from '@edge-telemetry/protocol';
import type { Sample, ScrapeResult } from '../../sources/types.js';
import { resolveDownsampleOptions, type DownsampleOptions } from './options.js';
import { newSeries, recordCounter, recordValue, resetWindow, summarize, type SeriesState } from './series.js';
import type { SketchOps } from './sketch.js';
import type { DropReport } from '../../batch/drops.js';

export interface DownsamplerDeps {
  sketches: SketchOps;
  /** Receives the cardinality and invalid-value drops. */
  report: DropReport;
}

/**
 * Aggregates raw samples into summary windows: per series min, max, sum, count, last, gaps,
 * resets and a quantile sketch; counters leave as per-second rates. Pure: no clock, no I/O. The
 * caller flushes at each window boundary before it ingests samples of the next window.
 */
export class Downsampler {
  readonly options: DownsampleOptions;
  /** container -> metric -> state: two lookups and no key string built per sample. */
  private readonly series = new Map<string, Map<string, SeriesState>>();
  private size = 0;
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
   * Adds one scrape of one source. Every series that source produced before and that got no
   * sample now gains a gap (container stopped, read failed): marked, never filled in.
   */
  ingest(source: string, result: Pick<ScrapeResult, 'samples'>): void {
    const seq = ++this.scrapeSeq;
    const samples = result.samples;
    for (let i = 0; i < samples.length; i++) this.add(source, samples[i] as Sample, seq);
    for (const byMetric of this.series.values()) {
      for (const st of byMetric.values()) if (st.source === source && st.touched !== seq) st.gaps++;
    }
  }

  /** The per-sample hot path. */
  private add(source: string, s: Sample, seq: number): void {
    if (!Number.isFinite(s.value)) {
      this.deps.report.drop({ stage: 'metrics.downsample', reason: 'not_finite', container: s.container });
      return;
    }
    let byMetric = this.series.get(s.container);
    let st = byMetric?.get(s.metric);
    if (st === undefined) {
      if (this.size >= this.options.maxSeries) {
        this.deps.report.drop({ stage: 'metrics.cardinality', reason: 'series_cap', container: s.container });
        return;
      }
      if (byMetric === undefined) {
        byMetric = new Map();
        this.series.set(s.container, byMetric);
      }
      st = newSeries(s.container, s.metric, s.kind === 'counter', source);
      byMetric.set(s.metric, st);
      this.size++;
    }
    st.touched = seq;
    st.seen++;
    if (st.counter) recordCounter(st, s.value, s.ts, this.deps.sketches);
    else recordValue(st, s.value, this.deps.sketches);
  }

  /**
   * Closes the window [windowEnd - windowMs, windowEnd): returns a summary for every series that
   * had values or gaps in it, starts the next window, and forgets series idle for
   * `evictAfterWindows` windows.
   */
  flush(windowEnd: number): MetricSummary[] {
    const start = windowEnd - this.options.windowMs;
    const out: MetricSummary[] = [];
    for (const [container, byMetric] of this.series) {
      for (const [metric, st] of byMetric) {
        if (st.count > 0 || st.gaps > 0) out.push(summarize(st, start, windowEnd, this.options.significantDigits));
        resetWindow(st);
        if (st.idleWindows >= this.options.evictAfterWindows) {
          byMetric.delete(metric);
          this.size--;
        }
      }
      if (byMetric.size === 0) this.series.delete(container);
    }
    return out;
  }
}
