/**
 * Version 5: keyframe bodies (batch frames compressed against them). A node compresses each batch against the bodies of
 * its last acknowledged keyframes; any ingester of the shared subscription must find them, so they
 * live here rather than in one ingester's memory. The body is kept base64 (the embedded
 * connection carries insert bodies as text). A node refers only to its latest keyframes (the
 * last 12 of each class at the defaults, about the last 96 batches), so rows are keyed by Seq modulo 256: a
 * keyframe replaces, at the next merge, the one 256 seqs older, and a node's share of the table
 * stays bounded whatever its age. No partitions (replacing works within one) and a row TTL, for a
 * node gone quiet. A reference gone (replaced, or past the TTL) is answered with
 * `resend`, and the node starts again from a standalone keyframe.
 */
import { TABLES } from '../tables.js';
import type { Migration } from './types.js';
import { TIME } from './ddl.js';

export const migration0005: Migration = {
  version: 5,
  name: 'batch_references',
  statements: ({ retention }) => [
    `CREATE TABLE IF NOT EXISTS ${TABLES.references} (
      NodeName LowCardinality(String),
      Epoch UInt32,
      Seq UInt64,
      SeqSlot UInt8 MATERIALIZED Seq % 256,
      BodyBase64 String CODEC(ZSTD(3)),
      StoredAt ${TIME}
    ) ENGINE = ReplacingMergeTree(StoredAt)
    ORDER BY (NodeName, Epoch, SeqSlot)
    TTL toDateTime(StoredAt) + INTERVAL ${retention.referencesDays} DAY`,
  ],
};
