/**
 * Version 11 (issue 19): series of applications and summaries of their traces.
 *
 * - Metric summaries gain `Attributes` (resource and data-point attributes: `service.name`, a
 *   Prometheus target's `instance`, ...), part of a series' identity besides container and metric.
 *   Container series have none: an empty map costs next to nothing in a column.
 * - The hourly rollup keys its rows by the attributes too (a new column may join the end of the
 *   sorting key in the ALTER that adds it), or it would merge the hours of different series.
 *   Its view is made again with the column; windows inserted by other ingesters between the
 *   DROP and the CREATE miss the rollup, so upgrade with the writers stopped, as start-up does.
 * - `et_span_summaries`: spans per window x service x operation x kind x status (count, duration
 *   sum/min/max and DDSketch bins in ms, what the error spans said, a few trace ids), kept as long
 *   as metric summaries. Names follow the OpenTelemetry ClickHouse exporter where they mean the same.
 */
import { TABLES } from '../tables.js';
import type { Migration } from './types.js';
import { MERGE_TREE_SETTINGS as SETTINGS, TIME } from './ddl.js';

const ATTRIBUTES = 'Attributes Map(LowCardinality(String), String)';

/** Migration 6's pass-through with the attributes (see there why each window is one row). */
const PASS_THROUGH = `SELECT src.NodeName AS NodeName, src.ContainerName AS ContainerName, src.MetricName AS MetricName,
      toStartOfHour(toDateTime(src.StartTimeUnix)) AS StartTimeUnix,
      src.Count AS Count, src.Sum AS Sum, src.Min AS Min, src.Max AS Max,
      (src.TimeUnix, src.Last) AS Last,
      toUInt64(src.Gaps) AS Gaps, src.SketchZeros AS SketchZeros,
      (arrayMap(i -> toInt32(src.SketchOffset + i - 1), arrayEnumerate(src.SketchCounts)), src.SketchCounts) AS SketchPos,
      (arrayMap(i -> toInt32(src.SketchNegOffset + i - 1), arrayEnumerate(src.SketchNegCounts)), src.SketchNegCounts) AS SketchNeg,
      src.Attributes AS Attributes
    FROM ${TABLES.metrics} AS src
    WHERE src.Count > 0`;

export const migration0011: Migration = {
  version: 11,
  name: 'attributes_and_span_summaries',
  statements: ({ retention: r }) => [
    `ALTER TABLE ${TABLES.metrics} ADD COLUMN IF NOT EXISTS ${ATTRIBUTES} CODEC(ZSTD(1))`,
    `ALTER TABLE ${TABLES.metricsHourly} ADD COLUMN IF NOT EXISTS ${ATTRIBUTES}, MODIFY ORDER BY (NodeName, ContainerName, MetricName, StartTimeUnix, Attributes)`,
    `DROP VIEW IF EXISTS ${TABLES.metricsHourly}_mv`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${TABLES.metricsHourly}_mv TO ${TABLES.metricsHourly} AS
    ${PASS_THROUGH}`,
    `CREATE TABLE IF NOT EXISTS ${TABLES.spans} (
      NodeName LowCardinality(String),
      ContainerName LowCardinality(String),
      ServiceName LowCardinality(String),
      SpanName LowCardinality(String),
      SpanKind LowCardinality(String),
      StatusCode LowCardinality(String),
      StartTimeUnix ${TIME},
      TimeUnix ${TIME},
      Count UInt64 CODEC(T64, ZSTD(1)),
      Sum Float64 CODEC(Gorilla, ZSTD(1)),
      Min Float64 CODEC(Gorilla, ZSTD(1)),
      Max Float64 CODEC(Gorilla, ZSTD(1)),
      SketchZeros UInt64 CODEC(T64, ZSTD(1)),
      SketchOffset Int32 CODEC(ZSTD(1)),
      SketchCounts Array(UInt64) CODEC(ZSTD(1)),
      SketchNegOffset Int32 CODEC(ZSTD(1)),
      SketchNegCounts Array(UInt64) CODEC(ZSTD(1)),
      Errors Array(String) CODEC(ZSTD(1)),
      TraceIds Array(String) CODEC(ZSTD(1))
    ) ENGINE = MergeTree
    PARTITION BY toDate(StartTimeUnix)
    ORDER BY (NodeName, ServiceName, SpanName, StartTimeUnix)
    TTL toDateTime(StartTimeUnix) + INTERVAL ${r.metricsDays} DAY
    ${SETTINGS}`,
  ],
};
