import { crc32 } from 'node:zlib';

/** 'ETLB': marks the start of every block, so a scan can tell a block from garbage. */
const MAGIC = 0x424c5445;
export const BLOCK_HEADER_BYTES = 36;

/**
 * Block layout: `magic u32 | payloadLen u32 | crc u32 | count u32 | minTs f64 | maxTs f64 |
 * metaLen u32 | meta (JSON) | payload (zstd)`. The CRC covers everything after itself, so a torn
 * or bit-flipped block is detected as a whole. The meta is `{"c": containers, "e": ends}`, where
 * ends lists, per log file whose lines the block holds, `[path, inode, upTo, extra]`: every line of
 * the file ending at or before `upTo` is stored (in this block or before), and so are the lines
 * ending at the offsets in `extra` (joined multi-line events reach the store out of read order).
 * Blocks written before ends were kept have a plain containers array.
 */
export interface BlockMeta {
  count: number;
  minTs: number;
  maxTs: number;
  containers: string[];
  /** Per source file: what of it is stored (a restart does not store those lines again). */
  ends: Array<[path: string, inode: number, upTo: number, extra: number[]]>;
}

export function encodeBlock(meta: BlockMeta, payload: Buffer): Buffer {
  const names = Buffer.from(JSON.stringify({ c: meta.containers, e: meta.ends }));
  const buf = Buffer.allocUnsafe(BLOCK_HEADER_BYTES + names.length + payload.length);
  buf.writeUInt32LE(MAGIC, 0);
  buf.writeUInt32LE(payload.length, 4);
  buf.writeUInt32LE(meta.count, 12);
  buf.writeDoubleLE(meta.minTs, 16);
  buf.writeDoubleLE(meta.maxTs, 24);
  buf.writeUInt32LE(names.length, 32);
  names.copy(buf, BLOCK_HEADER_BYTES);
  payload.copy(buf, BLOCK_HEADER_BYTES + names.length);
  buf.writeUInt32LE(crc32(buf.subarray(12)), 8);
  return buf;
}

export interface ParsedBlock extends BlockMeta {
  /** Bytes the whole block takes. */
  size: number;
  payload: Buffer;
}

/**
 * The block at `at` of `data` by its header alone (no CRC, no meta): how long it is and its time
 * range, so that a query skips the blocks outside its range without checking or parsing them.
 * Undefined when no whole block header and length fit there.
 */
export function peekBlock(data: Buffer, at: number): { size: number; minTs: number; maxTs: number } | undefined {
  if (at + BLOCK_HEADER_BYTES > data.length || data.readUInt32LE(at) !== MAGIC) return undefined;
  const size = BLOCK_HEADER_BYTES + data.readUInt32LE(at + 32) + data.readUInt32LE(at + 4);
  if (at + size > data.length) return undefined;
  return { size, minTs: data.readDoubleLE(at + 16), maxTs: data.readDoubleLE(at + 24) };
}

/**
 * Reads the block at `at` of `data` (a whole segment). Returns undefined when what is there is
 * not a complete, intact block: the torn or corrupt tail that recovery cuts off.
 */
export function parseBlock(data: Buffer, at: number): ParsedBlock | undefined {
  if (at + BLOCK_HEADER_BYTES > data.length || data.readUInt32LE(at) !== MAGIC) return undefined;
  const payloadLen = data.readUInt32LE(at + 4);
  const namesLen = data.readUInt32LE(at + 32);
  const end = at + BLOCK_HEADER_BYTES + namesLen + payloadLen;
  if (end > data.length) return undefined;
  if (crc32(data.subarray(at + 12, end)) !== data.readUInt32LE(at + 8)) return undefined;
  let containers: string[];
  let ends: BlockMeta['ends'] = [];
  try {
    const meta = JSON.parse(data.toString('utf8', at + BLOCK_HEADER_BYTES, at + BLOCK_HEADER_BYTES + namesLen)) as
      string[] | { c: string[]; e?: BlockMeta['ends'] };
    if (Array.isArray(meta)) containers = meta;
    else {
      containers = meta.c;
      ends = meta.e ?? [];
    }
  } catch {
    return undefined;
  }
  return {
    count: data.readUInt32LE(at + 12),
    minTs: data.readDoubleLE(at + 16),
    maxTs: data.readDoubleLE(at + 24),
    containers,
    ends,
    size: end - at,
    payload: data.subarray(at + BLOCK_HEADER_BYTES + namesLen, end),
  };
}
