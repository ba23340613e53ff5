/**
 * What the sources produce: metric samples per scrape and raw log lines. The transforms turn them
 * into the protocol's sections (MetricSummary, LogEvent, LogTemplate, ...).
 */
import type { ContainerInfo } from '@edge-telemetry/protocol';
import type { Histogram } from '../transforms/downsample/histogram.js';

/** One raw observation from a scrape. Counters are cumulative; the downsampler turns them into rates. */
export interface Sample {
  /** Container name ('' = the host). */
  container: string;
  metric: string;
  value: number;
  /** Node clock, ms. */
  ts: number;
  kind: 'gauge' | 'counter';
  /**
   * What tells an application's series apart besides container and metric (resource and
   * data-point attributes, a Prometheus target's `instance` and `job` and labels); part of the
   * series identity, in any key order. Container series have none.
   */
  attrs?: Readonly<Record<string, string>>;
}

/** One histogram point of an application's series (OTLP, Prometheus): its observations go into the window's sketch. */
export interface HistogramSample {
  container: string;
  metric: string;
  /** Node clock, ms. */
  ts: number;
  attrs?: Readonly<Record<string, string>>;
  /** Cumulative points count from the series' start (the downsampler takes the differences); delta points since the previous one. */
  temporality: 'cumulative' | 'delta';
  histogram: Histogram;
}

/** What one scrape of a metric source returns. */
export interface ScrapeResult {
  samples: Sample[];
  histograms?: HistogramSample[];
  /** Containers the source knows now (for naming and the batch's container list). */
  containers: ContainerInfo[];
  /** Bytes the raw form of this scrape takes (a `docker stats` JSON document per container), for the uplink economy. */
  rawBytes?: number;
}

export interface MetricSource {
  readonly name: string;
  scrape(now: number): Promise<ScrapeResult>;
  close(): Promise<void>;
}

/** One raw log line as read from a container's log file, before parsing. */
export interface RawLogLine {
  ts: number;
  container: string;
  stream: 'stdout' | 'stderr';
  /** The message text as the container wrote it (json-file `log` / CRI content), without the trailing newline. */
  line: string;
  /** Bytes this line took in its raw on-disk form (the uplink economy compares against it). */
  rawBytes: number;
}

/** A source of container log lines (file tailers, simulators). It pushes; the pipeline never blocks it. */
export interface LogSource {
  readonly name: string;
  start(emit: (line: RawLogLine) => void): Promise<void>;
  stop(): Promise<void>;
}
