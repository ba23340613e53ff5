/**
 * Bytes on the wire of the same batches in the three encodings the uplink economy compares: our
 * codec, JSON + zstd, OTLP protobuf + gzip. Compressors are passed in (one context each, reused,
 * as a sender would), so this module is plain functions over plain data.
 */
import type { Batch } from '@edge-telemetry/protocol';
import { encodeOtlpLogs, encodeOtlpMetrics, type OtlpInput } from './otlp.js';

export type Compress = (bytes: Uint8Array) => Uint8Array;

/** A batch as the uplink would send it: our codec's frame. */
export type Encode = (batch: Batch) => Uint8Array;

export function jsonZstdBytes(batch: OtlpInput, zstd: Compress): number {
  return zstd(Buffer.from(JSON.stringify(batch), 'utf8')).length;
}

/** One ExportMetricsServiceRequest and one ExportLogsServiceRequest per batch, each gzipped as an OTLP/HTTP body; an empty side is not sent. */
export function otlpGzipBytes(batch: OtlpInput, gzip: Compress): { metrics: number; logs: number } {
  const m = encodeOtlpMetrics(batch);
  const l = encodeOtlpLogs(batch);
  return { metrics: m ? gzip(m).length : 0, logs: l ? gzip(l).length : 0 };
}

export interface SectionSizes {
  /** The batch with every section empty: node, window, health. */
  header: number;
  containers: number;
  /** Metric summaries of the containers' own series. */
  containerMetrics: number;
  /** `logs.<level>_lines` summaries. */
  levelMetrics: number;
  logs: number;
  templates: number;
  drops: number;
}

const EMPTY = { containers: [], metrics: [], logs: [], templates: [], events: [], drops: [] };

/**
 * What each section costs in one batch: the batch with only that section, less the header-only
 * batch. Sections compress together in the real batch, so these add up to a little more than it.
 */
export function sectionSizes(batch: Batch, size: (b: Batch) => number): SectionSizes {
  const only = (part: Partial<Batch>): Batch => ({ ...batch, ...EMPTY, ...part });
  const header = size(only({}));
  const extra = (part: Partial<Batch>, rows: number): number => (rows === 0 ? 0 : size(only(part)) - header);
  const levelMetrics = batch.metrics.filter((m) => m.metric.startsWith('logs.'));
  const containerMetrics = batch.metrics.filter((m) => !m.metric.startsWith('logs.'));
  return {
    header,
    containers: extra({ containers: batch.containers }, batch.containers.length),
    containerMetrics: extra({ metrics: containerMetrics }, containerMetrics.length),
    levelMetrics: extra({ metrics: levelMetrics }, levelMetrics.length),
    logs: extra({ logs: batch.logs }, batch.logs.length),
    templates: extra({ templates: batch.templates }, batch.templates.length),
    drops: extra({ drops: batch.drops }, batch.drops.length),
  };
}

export function addSizes(a: SectionSizes, b: SectionSizes): SectionSizes {
  return {
    header: a.header + b.header,
    containers: a.containers + b.containers,
    containerMetrics: a.containerMetrics + b.containerMetrics,
    levelMetrics: a.levelMetrics + b.levelMetrics,
    logs: a.logs + b.logs,
    templates: a.templates + b.templates,
    drops: a.drops + b.drops,
  };
}

export const ZERO_SIZES: SectionSizes = {
  header: 0,
  containers: 0,
  containerMetrics: 0,
  levelMetrics: 0,
  logs: 0,
  templates: 0,
  drops: 0,
};
