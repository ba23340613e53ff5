/**
 * Version 3: log pulls. One row per pull state change (the latest wins, ReplacingMergeTree on
 * UpdatedAt), the pulled lines with a short TTL (read by several engineers without asking the node
 * again, then gone: they are raw logs), and the audit trail of every request, accepted or refused.
 */
import { TABLES } from '../tables.js';
import type { Migration } from './types.js';
import { TIME } from './ddl.js';

/** Pulled lines are a working copy of a node's own log: a day is enough to read and share them. */
export const PULLED_LINES_TTL_HOURS = 24;
/** Pull state rows, and the audit trail (kept long: who pulled what is asked months later). */
export const PULL_STATE_TTL_DAYS = 30;
export const PULL_AUDIT_TTL_DAYS = 400;

export const migration0003: Migration = {
  version: 3,
  name: 'log_pulls',
  statements: () => [
    `CREATE TABLE IF NOT EXISTS ${TABLES.pulls} (
      PullId String,
      NodeName LowCardinality(String),
      State LowCardinality(String),
      Filter String,
      RequestedBy String,
      CreatedAt ${TIME},
      ExpiresAt ${TIME},
      StartedAt Nullable(DateTime64(3)),
      FinishedAt Nullable(DateTime64(3)),
      LinesReceived UInt64,
      BytesReceived UInt64,
      BytesExpected Nullable(UInt64),
      ChunksExpected Nullable(UInt32),
      Error String,
      UpdatedAt ${TIME}
    ) ENGINE = ReplacingMergeTree(UpdatedAt)
    ORDER BY PullId
    TTL toDateTime(CreatedAt) + INTERVAL ${PULL_STATE_TTL_DAYS} DAY`,
    `CREATE TABLE IF NOT EXISTS ${TABLES.pulledLines} (
      PullId String,
      Seq UInt32 CODEC(Delta(4), ZSTD(1)),
      Idx UInt32 CODEC(Delta(4), ZSTD(1)),
      Timestamp ${TIME},
      ContainerName LowCardinality(String),
      Stream LowCardinality(String),
      SeverityText LowCardinality(String),
      Line String CODEC(ZSTD(3)),
      InsertedAt DateTime CODEC(Delta(4), ZSTD(1))
    ) ENGINE = MergeTree
    ORDER BY (PullId, Seq, Idx)
    TTL InsertedAt + INTERVAL ${PULLED_LINES_TTL_HOURS} HOUR`,
    `CREATE TABLE IF NOT EXISTS ${TABLES.audit} (
      At ${TIME},
      PullId String,
      NodeName LowCardinality(String),
      RequestedBy String,
      Action LowCardinality(String),
      Accepted UInt8,
      Reason String,
      Filter String,
      Lines UInt64,
      Bytes UInt64,
      RemoteAddress String
    ) ENGINE = MergeTree
    PARTITION BY toYYYYMM(At)
    ORDER BY (At, PullId)
    TTL toDateTime(At) + INTERVAL ${PULL_AUDIT_TTL_DAYS} DAY`,
  ],
};
