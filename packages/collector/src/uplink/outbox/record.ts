/**
 * The outbox record format. Each record is a fixed 32-byte header and the payload:
 *
 *   0  u32 magic 'ETOB'     lets a scan find the next record after a corrupt one
 *   4  u32 payload length
 *   8  u32 CRC32 of bytes 12..31 and the payload
 *  12  u8  kind (1 = batch, 2 = batch carrying a cursor)
 *  13  u8  priority class (0 = most valuable .. 3 = least)
 *  14  u16 group: 0, or how many seqs later the record that carries this one's group comes
 *  16  u32 epoch
 *  20  u32 seq
 *  24  f64 createdAt (node clock, ms)
 *
 * A kind-2 payload starts with the cursor: `u32 length | f64 generation | cursor bytes`, then the
 * batch. Records appended together (a group) are written in one write; the last one carries the
 * cursor, the others say how far after them it is. A group whose carrier is not on disk was torn
 * by a crash: its other records are dropped at open (see Outbox), so the group is all or nothing.
 *
 * Little-endian throughout. Pure functions over buffers: the scan is tested without files.
 */
import { crc32 } from 'node:zlib';
import { PRIORITY_CLASSES } from '../../batch/priority-classes.js';

export const RECORD_MAGIC = 0x424f5445; // 'ETOB' read little-endian
export const RECORD_HEADER_BYTES = 32;
export const RECORD_KIND_BATCH = 1;
export const RECORD_KIND_BATCH_WITH_CURSOR = 2;
const CURSOR_PREFIX_BYTES = 12;

/** A batch's key in the maps kept by (epoch, seq): the outbox's, the sender's and its books'. */
export const recordKey = (epoch: number, seq: number): string => `${epoch}/${seq}`;

export interface RecordHeader {
  kind: number;
  priorityClass: number;
  /** Seqs to the carrier of this record's group (0: none, or this is the carrier). */
  group: number;
  epoch: number;
  seq: number;
  createdAt: number;
}

export function encodeRecord(h: RecordHeader, payload: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  buf.writeUInt32LE(RECORD_MAGIC, 0);
  buf.writeUInt32LE(payload.length, 4);
  buf.writeUInt8(h.kind, 12);
  buf.writeUInt8(h.priorityClass, 13);
  buf.writeUInt16LE(h.group, 14);
  buf.writeUInt32LE(h.epoch >>> 0, 16);
  buf.writeUInt32LE(h.seq >>> 0, 20);
  buf.writeDoubleLE(h.createdAt, 24);
  buf.set(payload, RECORD_HEADER_BYTES);
  buf.writeUInt32LE(crc32(buf.subarray(12)), 8);
  return buf;
}

export interface ScannedRecord extends RecordHeader {
  /** Offset of the header within the scanned buffer. */
  offset: number;
  /** Header + payload bytes. */
  size: number;
}

export interface ScanResult {
  records: ScannedRecord[];
  /** Bytes that did not belong to any valid record (torn tail, flipped bits, garbage). */
  cutBytes: number;
  /** Corrupt stretches found (each may have held one or more records). */
  cutRanges: number;
}

/** Decodes the record at `off`, or undefined when it is torn or corrupt. */
export function readRecordAt(buf: Buffer, off: number, maxPayload: number): ScannedRecord | undefined {
  if (off + RECORD_HEADER_BYTES > buf.length) return undefined;
  if (buf.readUInt32LE(off) !== RECORD_MAGIC) return undefined;
  const len = buf.readUInt32LE(off + 4);
  if (len > maxPayload || off + RECORD_HEADER_BYTES + len > buf.length) return undefined;
  const end = off + RECORD_HEADER_BYTES + len;
  if (crc32(buf.subarray(off + 12, end)) !== buf.readUInt32LE(off + 8)) return undefined;
  const priorityClass = buf.readUInt8(off + 13);
  if (priorityClass >= PRIORITY_CLASSES) return undefined;
  return {
    offset: off,
    size: end - off,
    kind: buf.readUInt8(off + 12),
    priorityClass,
    group: buf.readUInt16LE(off + 14),
    epoch: buf.readUInt32LE(off + 16),
    seq: buf.readUInt32LE(off + 20),
    createdAt: buf.readDoubleLE(off + 24),
  };
}

/**
 * Reads every valid record of a segment. A corrupt record does not end the scan: it resumes at
 * the next magic whose record checks out, so a flipped byte costs one record, not the segment.
 */
export function scanRecords(buf: Buffer, maxPayload: number): ScanResult {
  const records: ScannedRecord[] = [];
  let cutBytes = 0;
  let cutRanges = 0;
  let off = 0;
  const magic = Buffer.alloc(4);
  magic.writeUInt32LE(RECORD_MAGIC, 0);
  while (off < buf.length) {
    const rec = readRecordAt(buf, off, maxPayload);
    if (rec) {
      records.push(rec);
      off += rec.size;
      continue;
    }
    cutRanges++;
    let next = buf.indexOf(magic, off + 1);
    while (next !== -1 && !readRecordAt(buf, next, maxPayload)) next = buf.indexOf(magic, next + 1);
    const resume = next === -1 ? buf.length : next;
    cutBytes += resume - off;
    off = resume;
  }
  return { records, cutBytes, cutRanges };
}

/** Whether `batch` with `cursor` (withCursor) is at most `capBytes`. */
export function fitsWithCursor(batch: Uint8Array, cursor: Uint8Array, capBytes: number): boolean {
  return CURSOR_PREFIX_BYTES + cursor.length + batch.length <= capBytes;
}

/** A kind-2 payload: the cursor prefix, then the batch. */
export function withCursor(generation: number, cursor: Uint8Array, batch: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(CURSOR_PREFIX_BYTES + cursor.length + batch.length);
  buf.writeUInt32LE(cursor.length, 0);
  buf.writeDoubleLE(generation, 4);
  buf.set(cursor, CURSOR_PREFIX_BYTES);
  buf.set(batch, CURSOR_PREFIX_BYTES + cursor.length);
  return buf;
}

/** The cursor of a kind-2 payload and where its batch starts; undefined when the prefix does not fit. */
export function readCursor(payload: Buffer): { generation: number; cursor: Buffer; batchAt: number } | undefined {
  if (payload.length < CURSOR_PREFIX_BYTES) return undefined;
  const len = payload.readUInt32LE(0);
  if (CURSOR_PREFIX_BYTES + len > payload.length) return undefined;
  return {
    generation: payload.readDoubleLE(4),
    cursor: payload.subarray(CURSOR_PREFIX_BYTES, CURSOR_PREFIX_BYTES + len),
    batchAt: CURSOR_PREFIX_BYTES + len,
  };
}
