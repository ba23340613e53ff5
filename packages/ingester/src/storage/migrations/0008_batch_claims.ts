/**
 * Version 8: claims. Before an ingester inserts a group of batches it writes a row per batch with
 * the group's token and the batch's insert texts. A batch belongs to the group whose claim
 * ClickHouse committed first: block numbers are given in commit order (`_block_number`, kept with
 * `enable_block_number_column`), so an ingester that reads the claims after its own are in sees
 * every earlier one. Two ingesters holding copies of one batch (its node sent it again while the
 * first copy was still queued) therefore store it once, and a group left half-inserted by an
 * ingester that died is finished from these texts, under the same tokens, by whichever ingester
 * gets one of its batches next (writer/claims.ts). A claim matters until its group is in the
 * ledger, minutes at most: kept a day, removed row by row (one partition, so that block numbers
 * compare across all claims).
 */
import { TABLES } from '../tables.js';
import type { Migration } from './types.js';
import { TIME } from './ddl.js';

export const migration0008: Migration = {
  version: 8,
  name: 'batch_claims',
  statements: () => [
    `CREATE TABLE IF NOT EXISTS ${TABLES.claims} (
      NodeName LowCardinality(String),
      Epoch UInt64,
      Seq UInt64,
      GroupToken String,
      ClaimedAt ${TIME},
      Body String CODEC(ZSTD(1))
    ) ENGINE = MergeTree
    ORDER BY (NodeName, Epoch, Seq)
    TTL toDateTime(ClaimedAt) + INTERVAL 1 DAY
    SETTINGS enable_block_number_column = 1, non_replicated_deduplication_window = 10000, merge_with_ttl_timeout = 3600`,
  ],
};
