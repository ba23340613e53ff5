import { Type, type Static } from '@sinclair/typebox';
import { resolveOptions } from '../config/resolve-options.js';

export const LogStoreOptionsSchema = Type.Object({
  /** Folder of segment files, on the data volume. */
  dir: Type.String({ minLength: 1 }),
  /** Bytes on disk at most; the oldest segments are evicted first (counted). */
  maxBytes: Type.Integer({ minimum: 65536, default: 256 * 1024 * 1024 }),
  /** A segment is closed and a new one started past this size. Eviction frees a segment at a time. */
  segmentBytes: Type.Integer({ minimum: 4096, default: 8 * 1024 * 1024 }),
  /** Raw record bytes gathered before a block is compressed and written. */
  blockBytes: Type.Integer({ minimum: 1024, default: 256 * 1024 }),
  /** zstd level of the blocks. */
  compressionLevel: Type.Integer({ minimum: 1, maximum: 19, default: 3 }),
  /** Bytes waiting for the disk at most; beyond, new records are dropped (counted) rather than grow memory. */
  maxPendingBytes: Type.Integer({ minimum: 1024, default: 8 * 1024 * 1024 }),
});
export type LogStoreOptions = Static<typeof LogStoreOptionsSchema>;

export function logStoreOptions(partial: Partial<LogStoreOptions> & { dir: string }): LogStoreOptions {
  return resolveOptions(LogStoreOptionsSchema, partial);
}
