/**
 * DDL fragments shared by the migrations. A migration's statements must never change once
 * applied, so these hold only what the versions already agree on.
 */

/** Deduplication of retried inserts (insert_deduplication_token) on a plain MergeTree needs a window. */
export const MERGE_TREE_SETTINGS =
  'SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 10000';

/** Millisecond timestamps: Delta turns sorted times into small numbers that ZSTD packs well. */
export const TIME = 'DateTime64(3) CODEC(Delta(8), ZSTD(1))';
