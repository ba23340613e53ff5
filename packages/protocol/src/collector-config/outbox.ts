import { Type, type Static } from '@sinclair/typebox';
import { limits } from '../limits.js';

export const OutboxOptionsSchema = Type.Object({
  /** Directory holding segments, the tombstone log and the epoch; on the collector's one writable volume. */
  dir: Type.String({ minLength: 1, description: 'Outbox directory (segments, ack log, epoch).' }),
  /** Bytes on disk (segment files) the outbox may hold; reaching it evicts the lowest-value records first. */
  capBytes: Type.Integer({
    minimum: 64 * 1024,
    default: 256 * 1024 * 1024,
    description: 'Byte cap on the segment files, enforced from disk at open.',
  }),
  /** Largest payload one record may hold; the protocol's wire limit by default. */
  recordCapBytes: Type.Integer({
    minimum: 1024,
    default: limits.maxBatchWireBytes,
    description: 'Largest record payload; bigger appends are refused.',
  }),
  /** Segment size at which a new segment starts; smaller segments free disk sooner after acks. */
  segmentBytes: Type.Integer({
    minimum: 4096,
    default: 4 * 1024 * 1024,
    description: 'A segment is closed and a new one started at this size.',
  }),
});
export type OutboxOptions = Static<typeof OutboxOptionsSchema>;
