/**
 * The plain data that flows between the collector's stages. Sources produce these, transforms
 * turn them into the protocol's sections (MetricSummary, LogEvent, LogTemplate, ...), the uplink
 * seals them into batches.
 */
import type { ContainerEvent, ContainerInfo, DropCount } from '@edge-telemetry/protocol';

/** One raw observation from a scrape. Counters are cumulative; the downsampler turns them into rates. */
export interface Sample {
  /** Container name ('' = the host). */
  container: string;
  metric: string;
  value: number;
  /** Node clock, ms. */
  ts: number;
  kind: 'gauge' | 'counter';
}

/** What one scrape of a metric source returns. */
export interface ScrapeResult {
  samples: Sample[];
  /** Containers the source knows now (for naming and the batch's container list). */
  containers: ContainerInfo[];
  /** Series that should have had a sample but did not (container stopped, read failed): marked as gaps. */
  missing: Array<{ container: string; reason: string }>;
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

/** Sinks for what happens between windows: events go out at once, drops are counted per window. */
export interface StageReport {
  event(e: ContainerEvent): void;
  drop(d: Omit<DropCount, 'count'>, count?: number): void;
}

/** A source of container log lines (file tailers, simulators). It pushes; the pipeline never blocks it. */
export interface LogSource {
  readonly name: string;
  start(emit: (line: RawLogLine) => void): Promise<void>;
  stop(): Promise<void>;
}
