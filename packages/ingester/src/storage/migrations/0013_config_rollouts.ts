/**
 * Version 13 (issue 20): staged rollouts of group and fleet configuration changes. A row per state
 * change (the latest per Id wins): the nodes in rollout order, the cumulative share admitted at
 * each stage, the stage reached and since when its health is held, the previous version of the
 * layer (what nodes not yet admitted keep, and what a failed rollout reverts to), and the ingester
 * that drives it with its heartbeat (UpdatedAt): another ingester takes the rollout over when the
 * owner's rows stop (fleet/rollout-driver.ts).
 */
import { TABLES } from '../tables.js';
import type { Migration } from './types.js';
import { TIME } from './ddl.js';

export const migration0013: Migration = {
  version: 13,
  name: 'config_rollouts',
  statements: () => [
    `CREATE TABLE IF NOT EXISTS ${TABLES.rollouts} (
      Id String,
      Scope LowCardinality(String),
      Target String,
      Rev UInt64,
      PrevRev UInt64,
      PrevDoc String,
      PrevDeleted UInt8,
      Nodes Array(String),
      Judged UInt32,
      Stages Array(UInt32),
      Stage UInt8,
      StageAt ${TIME},
      HoldFrom UInt64,
      HoldMs UInt32,
      State LowCardinality(String),
      Reason String,
      StartedBy String,
      StartedAt ${TIME},
      Owner String,
      UpdatedAt ${TIME}
    ) ENGINE = ReplacingMergeTree(UpdatedAt)
    ORDER BY Id`,
  ],
};
