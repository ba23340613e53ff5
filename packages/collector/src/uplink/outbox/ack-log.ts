/**
 * The tombstone log beside the segments: which records are gone (acknowledged or evicted), which
 * evictions the next batch has already reported, and the highest seq ever used per epoch (kept
 * through compaction, so a seq is never reused after every segment is deleted).
 *
 * Entry: u8 kind, u8 class, u16 count, u32 epoch, u32 seq, u32 CRC32 of the first 12 bytes.
 */
import { crc32 } from 'node:zlib';

export const ACK_ENTRY_BYTES = 16;
/**
 * ack/evict: the record (epoch, seq) is gone; evict also adds one unreported eviction of its class.
 * reported: `count` evictions of the class now travel in record (epoch, seq). unreported: `count`
 * evictions of the class are owed (written by compaction). carried: record (epoch, seq) carries
 * `count` evictions of the class (written by compaction; owed again if that record is evicted).
 */
export const AckEntryKind = { ack: 1, evict: 2, reported: 3, highWater: 4, unreported: 5, carried: 6 } as const;
export const MAX_ENTRY_COUNT = 0xffff;
export type AckEntryKindValue = (typeof AckEntryKind)[keyof typeof AckEntryKind];

export interface AckEntry {
  kind: AckEntryKindValue;
  priorityClass: number;
  epoch: number;
  seq: number;
  /** For reported/unreported/carried; 0 otherwise. */
  count: number;
}

export function encodeAckEntry(e: AckEntry, into: Buffer = Buffer.allocUnsafe(ACK_ENTRY_BYTES), at = 0): Buffer {
  into.writeUInt8(e.kind, at);
  into.writeUInt8(e.priorityClass, at + 1);
  into.writeUInt16LE(e.count, at + 2);
  into.writeUInt32LE(e.epoch >>> 0, at + 4);
  into.writeUInt32LE(e.seq >>> 0, at + 8);
  into.writeUInt32LE(crc32(into.subarray(at, at + 12)), at + 12);
  return into;
}

export function encodeAckEntries(entries: readonly AckEntry[]): Buffer {
  const buf = Buffer.allocUnsafe(entries.length * ACK_ENTRY_BYTES);
  entries.forEach((e, i) => encodeAckEntry(e, buf, i * ACK_ENTRY_BYTES));
  return buf;
}

/** Valid entries in order; a torn or corrupt entry is skipped and counted, never fatal. */
export function scanAckEntries(buf: Buffer): { entries: AckEntry[]; cutBytes: number } {
  const entries: AckEntry[] = [];
  let cutBytes = 0;
  const whole = buf.length - (buf.length % ACK_ENTRY_BYTES);
  for (let at = 0; at < whole; at += ACK_ENTRY_BYTES) {
    const kind = buf.readUInt8(at);
    const valid = crc32(buf.subarray(at, at + 12)) === buf.readUInt32LE(at + 12) && kind >= 1 && kind <= 6;
    if (!valid) {
      cutBytes += ACK_ENTRY_BYTES;
      continue;
    }
    entries.push({
      kind: kind as AckEntryKindValue,
      priorityClass: buf.readUInt8(at + 1),
      count: buf.readUInt16LE(at + 2),
      epoch: buf.readUInt32LE(at + 4),
      seq: buf.readUInt32LE(at + 8),
    });
  }
  return { entries, cutBytes: cutBytes + (buf.length - whole) };
}

/** Entries for `n` of one class, split so each count fits the u16 field. */
export function countEntries(
  kind: AckEntryKindValue,
  priorityClass: number,
  n: number,
  epoch = 0,
  seq = 0,
): AckEntry[] {
  const out: AckEntry[] = [];
  for (let left = n; left > 0; left -= MAX_ENTRY_COUNT)
    out.push({ kind, priorityClass, count: Math.min(left, MAX_ENTRY_COUNT), epoch, seq });
  return out;
}
