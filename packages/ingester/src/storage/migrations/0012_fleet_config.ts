/**
 * Version 12 (issue 20): fleet control. Configuration documents, every version kept (a change is a
 * new row with a higher revision; a removal is a row with Deleted = 1, so the revision a node must
 * reach still grows), per scope: the fleet (Target ''), a group (Target 'label=value') or one node.
 * And each node's configuration state as its status says it (the latest per node wins).
 */
import { TABLES } from '../tables.js';
import type { Migration } from './types.js';
import { TIME } from './ddl.js';

export const migration0012: Migration = {
  version: 12,
  name: 'fleet_config',
  statements: () => [
    `CREATE TABLE IF NOT EXISTS ${TABLES.configDocs} (
      Scope LowCardinality(String),
      Target String,
      Rev UInt64,
      Doc String,
      DocHash String,
      Deleted UInt8,
      CreatedBy String,
      CreatedAt ${TIME}
    ) ENGINE = MergeTree
    ORDER BY (Scope, Target, Rev)`,
    `CREATE TABLE IF NOT EXISTS ${TABLES.nodeConfig} (
      NodeName String,
      Online UInt8,
      AgentVersion LowCardinality(String),
      Labels Map(String, String),
      ConfigVersions Array(UInt8),
      State LowCardinality(String),
      Rev UInt64,
      AppliedRev UInt64,
      DocHash String,
      EffectiveHash String,
      Reason String,
      RestartNeeded Array(String),
      DebugUntil Nullable(DateTime64(3)),
      ReportedAt ${TIME}
    ) ENGINE = ReplacingMergeTree(ReportedAt)
    ORDER BY NodeName`,
  ],
};
