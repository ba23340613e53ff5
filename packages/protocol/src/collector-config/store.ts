import { Type, type Static } from '@sinclair/typebox';

export const LogStoreOptionsSchema = Type.Object({
  dir: Type.String({ minLength: 1, description: 'Folder of segment files, on the data volume.' }),
  maxBytes: Type.Integer({
    minimum: 65536,
    default: 256 * 1024 * 1024,
    description: 'Most bytes the full-log store keeps on disk; the oldest segments are evicted first (counted).',
  }),
  segmentBytes: Type.Integer({
    minimum: 4096,
    default: 8 * 1024 * 1024,
    description: 'Segment file size past which a new segment is started; eviction frees one segment at a time.',
  }),
  blockBytes: Type.Integer({
    minimum: 1024,
    default: 256 * 1024,
    description: 'Raw record bytes gathered before a block is compressed and written.',
  }),
  compressionLevel: Type.Integer({
    minimum: 1,
    maximum: 19,
    // Measured on the stored blocks (collector README, "Store codec"): level 1 takes a third less
    // CPU than 3 for the same bytes on disk, on the backlog mix and on every Loghub system.
    default: 1,
    description: 'zstd level of the stored blocks.',
  }),
  /** Dropping keeps memory bounded when the disk is slow. */
  maxPendingBytes: Type.Integer({
    minimum: 1024,
    default: 8 * 1024 * 1024,
    description: 'Most bytes waiting for the disk; beyond it, new records are dropped (counted).',
  }),
});
export type LogStoreOptions = Static<typeof LogStoreOptionsSchema>;
