import { parseBlock, type BlockMeta } from './block.js';

/**
 * What the store keeps in memory of one segment file: its size, line count, time range and
 * containers, which is all eviction and a query's choice of segments need. Nothing per block: a
 * query reads the segment file anyway and finds its blocks by their headers (block.ts
 * `peekBlock`), so the store's memory does not grow with what it holds (a full 256 MiB store is
 * ~5,000 blocks; an index entry per block, even kept small, was ~100 bytes of live heap each, and
 * a store configured larger grows it in proportion: issue 15, memory independent of backlog size).
 */
export interface SegmentIndex {
  seq: number;
  path: string;
  bytes: number;
  records: number;
  minTs: number;
  maxTs: number;
  containers: Set<string>;
}

/** What of a block the segment's index takes in. */
export interface BlockSummary {
  offset: number;
  size: number;
  count: number;
  minTs: number;
  maxTs: number;
  containers: readonly string[];
}

export function emptySegment(seq: number, path: string): SegmentIndex {
  return { seq, path, bytes: 0, records: 0, minTs: Infinity, maxTs: -Infinity, containers: new Set() };
}

/** Takes a block written at the end of the segment into its index. */
export function addBlock(seg: SegmentIndex, b: BlockSummary): void {
  seg.bytes = b.offset + b.size;
  seg.records += b.count;
  if (b.minTs < seg.minTs) seg.minTs = b.minTs;
  if (b.maxTs > seg.maxTs) seg.maxTs = b.maxTs;
  for (const c of b.containers) seg.containers.add(c);
}

/**
 * Indexes a segment's bytes block by block. Stops at the first byte that is not an intact block;
 * `validBytes` is where the good data ends (anything after it is a torn or corrupt tail). `ends`:
 * every block's source-file ends, in block order.
 */
export function scanSegment(
  seq: number,
  path: string,
  data: Buffer,
): { index: SegmentIndex; validBytes: number; ends: BlockMeta['ends'] } {
  const index = emptySegment(seq, path);
  const ends: BlockMeta['ends'] = [];
  let at = 0;
  while (at < data.length) {
    const b = parseBlock(data, at);
    if (b === undefined) break;
    addBlock(index, { ...b, offset: at });
    ends.push(...b.ends);
    at += b.size;
  }
  return { index, validBytes: at, ends };
}
