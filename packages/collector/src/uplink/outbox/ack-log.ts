/**
 * The tombstone log beside the segments: which records are gone (acknowledged or evicted), which
 * evictions the next batch has already reported, and the highest seq ever used per epoch (kept
 * through compaction, so a seq is never reused after every segment is deleted).
 *
 * Entry: u8 kind, u8 class, u16 0, u32 epoch, u32 seq, u32 CRC32 of the first 12 bytes.
 */
import { crc32 } from 'node:zlib';

export const ACK_ENTRY_BYTES = 16;
export const AckEntryKind = { ack: 1, evict: 2, evictionsReported: 3, highWater: 4 } as const;
export type AckEntryKindValue = (typeof AckEntryKind)[keyof typeof AckEntryKind];

export interface AckEntry {
  kind: AckEntryKindValue;
  priorityClass: number;
  epoch: number;
  seq: number;
}

export function encodeAckEntry(e: AckEntry, into: Buffer = Buffer.allocUnsafe(ACK_ENTRY_BYTES), at = 0): Buffer {
  into.writeUInt8(e.kind, at);
  into.writeUInt8(e.priorityClass, at + 1);
  into.writeUInt16LE(0, at + 2);
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
    const valid = crc32(buf.subarray(at, at + 12)) === buf.readUInt32LE(at + 12) && kind >= 1 && kind <= 4;
    if (!valid) {
      cutBytes += ACK_ENTRY_BYTES;
      continue;
    }
    entries.push({ kind: kind as AckEntryKindValue, priorityClass: buf.readUInt8(at + 1), epoch: buf.readUInt32LE(at + 4), seq: buf.readUInt32LE(at + 8) });
  }
  return { entries, cutBytes: cutBytes + (buf.length - whole) };
}
