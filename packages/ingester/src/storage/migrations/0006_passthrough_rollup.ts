/**
 * Version 6: the hourly rollup without aggregation at insert time. Version 2's view ran a GROUP BY
 * with argMaxState and sumMapState over every insert, and was most of the metrics insert's cost
 * (~1.3 s against ~0.5 s without it, per 109k-row bench run). This view passes each window through
 * as one row of SimpleAggregateFunction columns (~0.6 s); the AggregatingMergeTree combines rows
 * of the same hour in background merges, and the reader aggregates again at query time (sum, min,
 * max, `max(Last).2`, `sumMap(SketchPos)`), so unmerged parts answer the same.
 *
 * - Last is `max((TimeUnix, Last))`: the latest window's value, what argMax(Last, TimeUnix) gave.
 * - Sketch bins are `(bin indexes, counts)` tuples merged by sumMap, as before.
 * - Windows without samples stay out, as in version 2.
 *
 * A new table name rather than version 2's: the old one has other column types, so a stale reader
 * fails with "unknown table" instead of a type error, and re-running a half-applied version stays
 * safe (the old table is read until the very last statement drops it).
 *
 * Backfill, so an install keeps its long-range data: hours from the start of the day after the
 * raw table's oldest day come from the raw table (exact); earlier hours, which the raw retention
 * has dropped in whole or in part, come from version 2's table with its states finalised. There
 * the time of Last is lost and is taken as the hour's start. The backfill starts from an empty
 * table (TRUNCATE), so a re-run after a crash does not count anything twice; only a stop between
 * the last statement and recording the version leaves a re-run failing on the missing old table
 * (then record version 6 in schema_migrations by hand). Windows other ingesters insert while this
 * runs are in the raw table but may miss the rollup (between the raw read and the new view), so
 * upgrade with the writers stopped, as start-up does for its own.
 */
import { TABLES } from '../tables.js';
import { HOURLY_V2 } from './0002_hourly_rollup.js';
import type { Migration } from './types.js';

const BINS = 'SimpleAggregateFunction(sumMap, Tuple(Array(Int32), Array(UInt64)))';
const COLUMNS =
  'NodeName, ContainerName, MetricName, StartTimeUnix, Count, Sum, Min, Max, Last, Gaps, SketchZeros, SketchPos, SketchNeg';

/** One raw window as one rollup row; shared by the view and the backfill so both store the same. */
const PASS_THROUGH = `SELECT src.NodeName AS NodeName, src.ContainerName AS ContainerName, src.MetricName AS MetricName,
      toStartOfHour(toDateTime(src.StartTimeUnix)) AS StartTimeUnix,
      src.Count AS Count, src.Sum AS Sum, src.Min AS Min, src.Max AS Max,
      (src.TimeUnix, src.Last) AS Last,
      toUInt64(src.Gaps) AS Gaps, src.SketchZeros AS SketchZeros,
      (arrayMap(i -> toInt32(src.SketchOffset + i - 1), arrayEnumerate(src.SketchCounts)), src.SketchCounts) AS SketchPos,
      (arrayMap(i -> toInt32(src.SketchNegOffset + i - 1), arrayEnumerate(src.SketchNegCounts)), src.SketchNegCounts) AS SketchNeg
    FROM ${TABLES.metrics} AS src
    WHERE src.Count > 0`;

/** First hour taken from the raw table: the day after its oldest (possibly partly expired) day; none when it is empty. */
const RAW_FROM = `(SELECT if(count() = 0, toDateTime('2106-01-01 00:00:00'), toDateTime(toStartOfDay(min(StartTimeUnix))) + INTERVAL 1 DAY) FROM ${TABLES.metrics})`;

export const migration0006: Migration = {
  version: 6,
  name: 'passthrough_hourly_rollup',
  statements: ({ retention: r }) => [
    `CREATE TABLE IF NOT EXISTS ${TABLES.metricsHourly} (
      NodeName LowCardinality(String),
      ContainerName LowCardinality(String),
      MetricName LowCardinality(String),
      StartTimeUnix DateTime CODEC(Delta(4), ZSTD(1)),
      Count SimpleAggregateFunction(sum, UInt64),
      Sum SimpleAggregateFunction(sum, Float64),
      Min SimpleAggregateFunction(min, Float64),
      Max SimpleAggregateFunction(max, Float64),
      Last SimpleAggregateFunction(max, Tuple(DateTime64(3), Float64)),
      Gaps SimpleAggregateFunction(sum, UInt64),
      SketchZeros SimpleAggregateFunction(sum, UInt64),
      SketchPos ${BINS},
      SketchNeg ${BINS}
    ) ENGINE = AggregatingMergeTree
    PARTITION BY toYYYYMM(StartTimeUnix)
    ORDER BY (NodeName, ContainerName, MetricName, StartTimeUnix)
    TTL StartTimeUnix + INTERVAL ${r.rollupDays} DAY
    SETTINGS ttl_only_drop_parts = 1`,
    `DROP VIEW IF EXISTS ${HOURLY_V2}_mv`,
    `TRUNCATE TABLE IF EXISTS ${TABLES.metricsHourly}`,
    `INSERT INTO ${TABLES.metricsHourly} (${COLUMNS})
    SELECT NodeName, ContainerName, MetricName, StartTimeUnix, sum(Count), sum(Sum), min(Min), max(Max),
      (toDateTime64(StartTimeUnix, 3), argMaxMerge(Last)), sum(Gaps), sum(SketchZeros), sumMapMerge(SketchPos), sumMapMerge(SketchNeg)
    FROM ${HOURLY_V2}
    WHERE StartTimeUnix < ${RAW_FROM}
    GROUP BY NodeName, ContainerName, MetricName, StartTimeUnix`,
    `INSERT INTO ${TABLES.metricsHourly} (${COLUMNS})
    ${PASS_THROUGH} AND toStartOfHour(toDateTime(src.StartTimeUnix)) >= ${RAW_FROM}`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${TABLES.metricsHourly}_mv TO ${TABLES.metricsHourly} AS
    ${PASS_THROUGH}`,
    `DROP TABLE IF EXISTS ${HOURLY_V2}`,
  ],
};
