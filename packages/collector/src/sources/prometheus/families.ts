/**
 * From parsed exposition lines to what the downsampler takes: each line is placed in its family
 * (by `# TYPE` and the suffixes the formats define) and becomes a gauge, a counter (a rate
 * downstream) or a bucket of a histogram. A target is hostile input: its series are capped, and
 * duplicates, non-finite values, label excesses and malformed histograms are dropped, each
 * counted by reason. Pure: one instance per scrape, no I/O, no clock.
 */
import type { ExplicitHistogram } from '../../transforms/downsample/histogram.js';
import type { ExpositionHandler, FamilyType, LineError } from './exposition-parser.js';

export type DropReason =
  | LineError
  | 'series_limit'
  | 'label_limit'
  | 'duplicate'
  | 'out_of_order'
  | 'not_finite'
  | 'bad_histogram'
  | 'truncated';

export interface ScrapedPoint {
  metric: string;
  /** Label names and values alternating, sorted by name: the series' attributes. */
  labels: string[];
  value: number;
  kind: 'gauge' | 'counter';
}

/** A classic histogram at one scrape: cumulative counts per upper bound, ascending, the last +Inf. */
export interface ScrapedHistogram {
  metric: string;
  labels: string[];
  bounds: number[];
  counts: number[];
  /** The family's `_sum` line of the same labels, when the target wrote one. */
  sum?: number;
}

export interface FamilyLimits {
  /** Lines (series) kept per scrape; the rest are dropped as `series_limit`. */
  maxSeries: number;
  /** Labels per series. */
  maxLabels: number;
  /** Characters per label value. */
  maxLabelValueLength: number;
}

/** Labels the collector sets on every series of a target; a target's own of the same name is kept as `exported_<name>`. */
export const TARGET_LABELS = ['instance', 'job'] as const;

/** Details of the first few bad lines per scrape are kept for the log; the rest are only counted. */
const MAX_ERROR_DETAILS = 3;

type Role = 'gauge' | 'counter' | 'bucket' | 'skip';

export class FamilyCollector implements ExpositionHandler {
  readonly points: ScrapedPoint[] = [];
  readonly drops = new Map<DropReason, number>();
  readonly errors: string[] = [];
  /** The own timestamps of this scrape's kept points, by series: the next scrape's `previousTimes`. */
  readonly times = new Map<string, number>();
  private readonly types = new Map<string, FamilyType>();
  private readonly seen = new Set<string>();
  private readonly histograms = new Map<string, ScrapedHistogram & { bad: boolean }>();
  /** Histogram `_sum` values by the key of their histogram (family and labels). */
  private readonly sums = new Map<string, number>();
  private series = 0;

  constructor(
    private readonly limits: FamilyLimits,
    /** The target's own labels (instance, job), added to every series. */
    private readonly targetLabels: readonly string[],
    /**
     * The timestamps the target gave its points at the previous scrape: a point at or before its
     * series' previous one is a repeat (`duplicate`) or `out_of_order`, dropped as Prometheus does.
     */
    private readonly previousTimes: ReadonlyMap<string, number> = new Map(),
  ) {}

  type(family: string, type: FamilyType): void {
    this.types.set(family, type);
  }

  error(kind: LineError, line: number, detail: string): void {
    this.drop(kind);
    if (this.errors.length < MAX_ERROR_DETAILS) this.errors.push(`line ${line}: ${detail}`);
  }

  get full(): boolean {
    return this.series >= this.limits.maxSeries;
  }

  overflow(): void {
    this.drop('series_limit');
  }

  drop(reason: DropReason, n = 1): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + n);
  }

  sample(name: string, labels: string[], value: number, timestampMs?: number): void {
    const role = this.role(name);
    if (role === 'skip') return;
    if (this.series >= this.limits.maxSeries) return this.drop('series_limit');
    if (labels.length / 2 > this.limits.maxLabels) return this.drop('label_limit');
    for (let i = 1; i < labels.length; i += 2)
      if ((labels[i] as string).length > this.limits.maxLabelValueLength) return this.drop('label_limit');
    const sorted = sortPairs(labels);
    const key = seriesKey(name, sorted);
    if (this.seen.has(key)) return this.drop('duplicate');
    this.seen.add(key);
    this.series++;
    if (role === 'bucket') return this.bucket(name, sorted, value);
    if (!Number.isFinite(value)) return this.drop('not_finite');
    if (timestampMs !== undefined) {
      const prev = this.previousTimes.get(key);
      if (prev !== undefined && timestampMs <= prev) {
        this.times.set(key, prev); // the newest point stays the reference for the next scrape
        return this.drop(timestampMs === prev ? 'duplicate' : 'out_of_order');
      }
      this.times.set(key, timestampMs);
    }
    if (role === 'counter' && name.endsWith('_sum') && this.types.get(name.slice(0, -4)) === 'histogram')
      this.sums.set(seriesKey(name.slice(0, -4), sorted), value);
    this.points.push({ metric: name, labels: this.withTarget(sorted), value, kind: role });
  }

  /** Histograms complete once the body has ended: only then are all their buckets known. */
  finish(): ScrapedHistogram[] {
    const out: ScrapedHistogram[] = [];
    for (const [key, h] of this.histograms) {
      const order = h.bounds.map((_, i) => i).sort((a, b) => (h.bounds[a] as number) - (h.bounds[b] as number));
      const bounds = order.map((i) => h.bounds[i] as number);
      const counts = order.map((i) => h.counts[i] as number);
      const monotonic = counts.every((c, i) => i === 0 || c >= (counts[i - 1] as number));
      if (h.bad || !monotonic || bounds[bounds.length - 1] !== Infinity) {
        this.drop('bad_histogram');
        continue;
      }
      const sum = this.sums.get(key);
      out.push({
        metric: h.metric,
        labels: this.withTarget(h.labels),
        bounds,
        counts,
        ...(sum === undefined ? {} : { sum }),
      });
    }
    return out;
  }

  private bucket(name: string, sorted: string[], value: number): void {
    const metric = name.slice(0, -'_bucket'.length);
    const le = sorted.findIndex((v, i) => i % 2 === 0 && v === 'le');
    const bound = le >= 0 ? parseBound(sorted[le + 1] as string) : undefined;
    const rest = le >= 0 ? [...sorted.slice(0, le), ...sorted.slice(le + 2)] : sorted;
    const key = seriesKey(metric, rest);
    let h = this.histograms.get(key);
    if (!h) {
      h = { metric, labels: rest, bounds: [], counts: [], bad: false };
      this.histograms.set(key, h);
    }
    if (bound === undefined || !Number.isFinite(value) || value < 0) h.bad = true;
    else {
      h.bounds.push(bound);
      h.counts.push(value);
    }
  }

  /** What a line is, from its family's type (text format: `# TYPE` names the line; OpenMetrics: the family without suffix). */
  private role(name: string): Role {
    const own = this.types.get(name);
    if (own !== undefined) {
      if (own === 'counter') return 'counter';
      if (own !== 'histogram' && own !== 'gaugehistogram') return 'gauge';
      // A histogram's lines all have a suffix; one named as the family itself is malformed.
      this.drop('bad_histogram');
      return 'skip';
    }
    const cut = name.lastIndexOf('_');
    if (cut > 0) {
      const family = this.types.get(name.slice(0, cut));
      const suffix = name.slice(cut + 1);
      if (family !== undefined) {
        if (suffix === 'created') return 'skip'; // the series' start time: metadata, not a value
        if (family === 'counter' && suffix === 'total') return 'counter';
        if (family === 'histogram' || family === 'summary') {
          if (suffix === 'sum' || suffix === 'count') return 'counter';
          if (suffix === 'bucket' && family === 'histogram') return 'bucket';
        }
        if (family === 'gaugehistogram' && (suffix === 'bucket' || suffix === 'gsum' || suffix === 'gcount'))
          return 'gauge';
        if (family === 'info' && suffix === 'info') return 'gauge';
      }
    }
    return 'gauge'; // untyped: a value as it is
  }

  private withTarget(sorted: string[]): string[] {
    const t = this.targetLabels;
    if (t.length === 0) return sorted;
    let clash = false;
    for (let i = 0; i < sorted.length; i += 2) if (TARGET_LABELS.includes(sorted[i] as 'job')) clash = true;
    if (!clash) return sortPairs([...sorted, ...t]);
    const renamed: string[] = [];
    for (let i = 0; i < sorted.length; i += 2) {
      const n = sorted[i] as string;
      renamed.push(TARGET_LABELS.includes(n as 'job') ? `exported_${n}` : n, sorted[i + 1] as string);
    }
    return sortPairs([...renamed, ...t]);
  }
}

/**
 * A scraped histogram as the downsampler's sketch takes it: counts per bucket instead of
 * cumulative ones, the +Inf bound implied by the last bucket. Still cumulative over the series'
 * life: the downsampler takes the increase from one scrape to the next.
 */
export function explicitHistogram(h: ScrapedHistogram): ExplicitHistogram {
  const counts = h.counts.map((c, i) => c - (i === 0 ? 0 : (h.counts[i - 1] as number)));
  return {
    kind: 'explicit',
    bounds: h.bounds.slice(0, -1),
    counts,
    count: h.counts[h.counts.length - 1] as number,
    ...(h.sum === undefined ? {} : { sum: h.sum }),
  };
}

/** Label pairs sorted by name (most exporters already write them sorted: then no copy is made). */
export function sortPairs(labels: string[]): string[] {
  let ordered = true;
  for (let i = 2; i < labels.length; i += 2) if ((labels[i - 2] as string) > (labels[i] as string)) ordered = false;
  if (ordered) return labels;
  const idx: number[] = [];
  for (let i = 0; i < labels.length; i += 2) idx.push(i);
  idx.sort((a, b) => ((labels[a] as string) < (labels[b] as string) ? -1 : 1));
  const out: string[] = [];
  for (const i of idx) out.push(labels[i] as string, labels[i + 1] as string);
  return out;
}

export function seriesKey(metric: string, sorted: readonly string[]): string {
  return sorted.length === 0 ? metric : `${metric}\u0000${sorted.join('\u0000')}`;
}

function parseBound(le: string): number | undefined {
  if (le === '+Inf' || le === 'Inf' || le === 'inf' || le === '+inf') return Infinity;
  const v = Number(le);
  return le.trim() !== '' && Number.isFinite(v) ? v : undefined;
}
