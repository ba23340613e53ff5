/**
 * Version 5: keyframe bodies (batch frame v2). A node compresses each batch against the bodies of
 * its last acknowledged keyframes; any ingester of the shared subscription must find them, so they
 * live here rather than in one ingester's memory. The body is kept base64 (the embedded
 * connection carries insert bodies as text). A reference older than the TTL is answered with
 * `resend`, and the node starts again from a standalone keyframe.
 */
import { REFERENCE_TABLE } from '../../references/tables.js';
import type { Migration } from './types.js';
import { TIME } from './ddl.js';

export const migration0005: Migration = {
  version: 5,
  name: 'batch_references',
  statements: ({ retention }) => [
    `CREATE TABLE IF NOT EXISTS ${REFERENCE_TABLE} (
      NodeName LowCardinality(String),
      Epoch UInt32,
      Seq UInt64,
      BodyBase64 String CODEC(ZSTD(3)),
      StoredAt ${TIME}
    ) ENGINE = ReplacingMergeTree(StoredAt)
    PARTITION BY toDate(StoredAt)
    ORDER BY (NodeName, Epoch, Seq)
    TTL toDateTime(StoredAt) + INTERVAL ${retention.referencesDays} DAY
    SETTINGS ttl_only_drop_parts = 1`,
  ],
};
