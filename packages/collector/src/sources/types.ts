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

/**
 * One log file being read, by path; a new object when the path names a new file (rotation). Lines
 * point at it, so the windows they land in know where to resume reading after a restart.
 */
export interface FileRef {
  readonly path: string;
  readonly inode: number;
  /** Read order of the files of one path (a rotated file before the one that replaced it). */
  readonly order: number;
  /**
   * Lines ending at or before this offset are already in the full-log store (read before a crash,
   * read again now): they go through the pipeline again but are not stored twice.
   */
  storedUpTo: number;
  /** Ends of further lines already in the store (joined events reach it out of read order). */
  storedExtra: ReadonlySet<number> | undefined;
  /** The end of the furthest line of this file recorded so far (kept by the log pipeline). */
  recordedEnd: number;
  /** The container its last line went as (kept by the log pipeline: a renamed container's held events go first). */
  pushedAs: string | undefined;
}

/** One raw log line as read from a container's log file, before parsing. */
export interface RawLogLine {
  /** Runtime time (json-file `time`, CRI timestamp): the line's window is chosen by it. */
  ts: number;
  container: string;
  stream: 'stdout' | 'stderr';
  /** The message text as the container wrote it (json-file `log` / CRI content), without the trailing newline. */
  line: string;
  /** Bytes this line took in its raw on-disk form (the uplink economy compares against it). */
  rawBytes: number;
  /** Set by the log pipeline when the line is windowed at another time than `ts` (late, out of order, future). */
  windowTs?: number;
  /** The file it was read from (undefined for generated lines); `offset`..`end` are its bytes there. */
  file?: FileRef;
  offset: number;
  end: number;
}

/** Where a log source hands its lines; it says when to wait (backpressure). */
export interface LogSink {
  push(line: RawLogLine): void;
  /** Undefined when the sink takes more now; otherwise a promise to await before handing on more. */
  ready(): Promise<void> | undefined;
}

/** Where reading of one file stands: resume at `offset` of the file with `inode` at `path`. */
export interface ReadPosition {
  path: string;
  inode: number;
  offset: number;
}

/**
 * A source of container log lines (file tailers, simulators). `start` returns at once: the source
 * reads in the background, a bounded amount at a time, and waits whenever its sink says so.
 */
export interface LogSource {
  readonly name: string;
  /** Whether its lines can be read again after a restart from `positions()` (files), or are gone once handed on (generated). */
  readonly replayable: boolean;
  start(sink: LogSink): void;
  stop(): Promise<void>;
  /**
   * The runtime time up to which every line of `container` has been handed on: for a file read to
   * its end, when that read happened; for one with more to read, the time of the last line read.
   * Undefined for a container this source does not read.
   */
  watermark(container: string): number | undefined;
  /** Where each file's reading stands now (after the last complete line handed on). */
  positions(): ReadPosition[];
  /** Reads what is new in every file now, so that a window about to be sealed has its last lines. */
  catchUp(): Promise<void>;
}
