/**
 * Version 1: the tables of the first slice. Per-node queries are the main access path, so
 * node and container lead every ORDER BY; days are partitions so retention drops whole parts.
 */
import { TABLES } from '../tables.js';
import type { Migration } from './types.js';
import { MERGE_TREE_SETTINGS as SETTINGS, TIME } from './ddl.js';

export const migration0001: Migration = {
  version: 1,
  name: 'initial',
  statements: ({ retention: r }) => [
    `CREATE TABLE IF NOT EXISTS ${TABLES.metrics} (
      NodeName LowCardinality(String),
      ContainerName LowCardinality(String),
      MetricName LowCardinality(String),
      StartTimeUnix ${TIME},
      TimeUnix ${TIME},
      Count UInt64 CODEC(T64, ZSTD(1)),
      Sum Float64 CODEC(Gorilla, ZSTD(1)),
      Min Float64 CODEC(Gorilla, ZSTD(1)),
      Max Float64 CODEC(Gorilla, ZSTD(1)),
      Last Float64 CODEC(Gorilla, ZSTD(1)),
      Gaps UInt32 CODEC(T64, ZSTD(1)),
      Resets UInt32 CODEC(T64, ZSTD(1)),
      SketchZeros UInt64 CODEC(T64, ZSTD(1)),
      SketchOffset Int32 CODEC(ZSTD(1)),
      SketchCounts Array(UInt64) CODEC(ZSTD(1)),
      SketchNegOffset Int32 CODEC(ZSTD(1)),
      SketchNegCounts Array(UInt64) CODEC(ZSTD(1))
    ) ENGINE = MergeTree
    PARTITION BY toDate(StartTimeUnix)
    ORDER BY (NodeName, ContainerName, MetricName, StartTimeUnix)
    TTL toDateTime(StartTimeUnix) + INTERVAL ${r.metricsDays} DAY
    ${SETTINGS}`,
    `CREATE TABLE IF NOT EXISTS ${TABLES.logs} (
      Timestamp ${TIME},
      NodeName LowCardinality(String),
      ContainerName LowCardinality(String),
      SeverityText LowCardinality(String),
      SeverityNumber UInt8,
      Body String CODEC(ZSTD(1)),
      Stream LowCardinality(String),
      Repeat UInt32 CODEC(T64, ZSTD(1)),
      TemplateId String CODEC(ZSTD(1)),
      LogAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
      INDEX idx_body Body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1,
      INDEX idx_severity SeverityNumber TYPE minmax GRANULARITY 1
    ) ENGINE = MergeTree
    PARTITION BY toDate(Timestamp)
    ORDER BY (NodeName, ContainerName, Timestamp)
    TTL toDateTime(Timestamp) + INTERVAL ${r.logsDays} DAY
    ${SETTINGS}`,
    `CREATE TABLE IF NOT EXISTS ${TABLES.templates} (
      NodeName LowCardinality(String),
      ContainerName LowCardinality(String),
      TemplateId String,
      Template String CODEC(ZSTD(1)),
      SeverityNumber UInt8,
      Count UInt64 CODEC(T64, ZSTD(1)),
      FirstSeen ${TIME},
      LastSeen ${TIME},
      Samples Array(Tuple(Timestamp DateTime64(3), Params Array(String))) CODEC(ZSTD(1))
    ) ENGINE = MergeTree
    PARTITION BY toDate(LastSeen)
    ORDER BY (NodeName, ContainerName, TemplateId, LastSeen)
    TTL toDateTime(LastSeen) + INTERVAL ${r.logsDays} DAY
    ${SETTINGS}`,
    `CREATE TABLE IF NOT EXISTS ${TABLES.events} (
      Timestamp ${TIME},
      NodeName LowCardinality(String),
      ContainerName LowCardinality(String),
      EventKind LowCardinality(String),
      EventAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1))
    ) ENGINE = MergeTree
    PARTITION BY toDate(Timestamp)
    ORDER BY (NodeName, ContainerName, Timestamp)
    TTL toDateTime(Timestamp) + INTERVAL ${r.logsDays} DAY
    ${SETTINGS}`,
    `CREATE TABLE IF NOT EXISTS ${TABLES.containers} (
      SeenAt ${TIME},
      NodeName LowCardinality(String),
      ContainerId String,
      ContainerName LowCardinality(String),
      Image LowCardinality(String),
      State LowCardinality(String),
      Labels Map(LowCardinality(String), String) CODEC(ZSTD(1))
    ) ENGINE = ReplacingMergeTree(SeenAt)
    PARTITION BY toDate(SeenAt)
    ORDER BY (NodeName, ContainerName, ContainerId)
    TTL toDateTime(SeenAt) + INTERVAL ${r.ledgerDays} DAY
    ${SETTINGS}`,
    `CREATE TABLE IF NOT EXISTS ${TABLES.health} (
      Timestamp ${TIME},
      ReceivedAt ${TIME},
      NodeName LowCardinality(String),
      UplinkBytes UInt64 CODEC(T64, ZSTD(1)),
      RawBytes UInt64 CODEC(T64, ZSTD(1)),
      QueueBatches UInt32 CODEC(T64, ZSTD(1)),
      QueueBytes UInt64 CODEC(T64, ZSTD(1)),
      BudgetLeftBytes Int64 CODEC(ZSTD(1)),
      DegradeLevel UInt8,
      CpuPct Float32 CODEC(ZSTD(1)),
      RssBytes UInt64 CODEC(T64, ZSTD(1)),
      AgentVersion LowCardinality(String)
    ) ENGINE = MergeTree
    PARTITION BY toDate(Timestamp)
    ORDER BY (NodeName, Timestamp)
    TTL toDateTime(Timestamp) + INTERVAL ${r.ledgerDays} DAY
    ${SETTINGS}`,
    `CREATE TABLE IF NOT EXISTS ${TABLES.drops} (
      Timestamp ${TIME},
      NodeName LowCardinality(String),
      Stage LowCardinality(String),
      Reason LowCardinality(String),
      ContainerName LowCardinality(String),
      Count UInt64 CODEC(T64, ZSTD(1))
    ) ENGINE = MergeTree
    PARTITION BY toDate(Timestamp)
    ORDER BY (NodeName, ContainerName, Stage, Reason, Timestamp)
    TTL toDateTime(Timestamp) + INTERVAL ${r.ledgerDays} DAY
    ${SETTINGS}`,
    `CREATE TABLE IF NOT EXISTS ${TABLES.status} (
      NodeName LowCardinality(String),
      State LowCardinality(String),
      NodeTime ${TIME},
      ReceivedAt ${TIME},
      AgentVersion LowCardinality(String)
    ) ENGINE = MergeTree
    PARTITION BY toDate(ReceivedAt)
    ORDER BY (NodeName, ReceivedAt)
    TTL toDateTime(ReceivedAt) + INTERVAL ${r.ledgerDays} DAY
    ${SETTINGS}`,
    `CREATE TABLE IF NOT EXISTS ${TABLES.ledger} (
      NodeName LowCardinality(String),
      Epoch UInt64,
      Seq UInt64,
      ReceivedAt ${TIME},
      NodeSentAt ${TIME},
      ClockSkewMs Int64 CODEC(ZSTD(1)),
      WindowStart ${TIME},
      WindowEnd ${TIME},
      Rows UInt32 CODEC(T64, ZSTD(1)),
      WireBytes UInt32 CODEC(T64, ZSTD(1)),
      IngesterId LowCardinality(String)
    ) ENGINE = MergeTree
    PARTITION BY toDate(ReceivedAt)
    ORDER BY (NodeName, Epoch, Seq)
    TTL toDateTime(ReceivedAt) + INTERVAL ${r.ledgerDays} DAY
    ${SETTINGS}`,
    `CREATE TABLE IF NOT EXISTS ${TABLES.deadLetters} (
      ReceivedAt ${TIME},
      Topic String,
      NodeName LowCardinality(String),
      ReasonCode LowCardinality(String),
      Detail String CODEC(ZSTD(1)),
      PayloadBytes UInt32,
      PayloadBase64 String CODEC(ZSTD(3)),
      IngesterId LowCardinality(String)
    ) ENGINE = MergeTree
    PARTITION BY toDate(ReceivedAt)
    ORDER BY (ReasonCode, NodeName, ReceivedAt)
    TTL toDateTime(ReceivedAt) + INTERVAL ${r.deadLetterDays} DAY
    ${SETTINGS}`,
  ],
};
