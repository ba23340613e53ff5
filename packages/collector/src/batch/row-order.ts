/**
 * The order rows take inside a batch. The ingester stores rows whatever their order, but zstd
 * codes a row cheaply when a similar one sits just before it, so each section is sorted by what
 * makes neighbours alike. Measured on the reference workload (bench/uplink-economy, one hour, each
 * change alone against the order the stages produce):
 *
 * - metric summaries by metric, then container: the same metric's values have the same magnitude
 *   and number tags (-15 KB an hour; container first cost +6 KB);
 * - verbatim lines by container, then time: one container's lines share a format, so a message
 *   repeats most of the one before it (-34 KB; time alone interleaves the containers);
 * - template rows by container, then first seen, then id: times grow within a container and the
 *   rows of one container stay together as they did in the keyframes (-8 KB against container
 *   and id; first seen alone, across containers, cost +24 KB);
 * - span summaries by service, operation, kind, status: one operation's rows (ok and error) share
 *   their names and duration magnitudes (not measured: the reference workload has no spans).
 */
import type { LogEvent, LogTemplate, MetricSummary, SpanSummary } from '@edge-telemetry/protocol';

const text = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export const byMetricThenContainer = (a: MetricSummary, b: MetricSummary): number =>
  text(a.metric, b.metric) || text(a.container, b.container) || a.start - b.start;

export const byContainerThenTime = (a: LogEvent, b: LogEvent): number => text(a.container, b.container) || a.ts - b.ts;

export const byContainerThenFirstSeen = (a: LogTemplate, b: LogTemplate): number =>
  text(a.container, b.container) || a.firstSeen - b.firstSeen || text(a.id, b.id);

export const byServiceThenOperation = (a: SpanSummary, b: SpanSummary): number =>
  text(a.service, b.service) ||
  text(a.operation, b.operation) ||
  a.kind - b.kind ||
  a.status - b.status ||
  text(a.container, b.container);
