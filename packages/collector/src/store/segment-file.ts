import { parseBlock, type BlockMeta } from './block.js';

/**
 * Where one block of a segment lies, and what a query needs to skip it: the store's index, held
 * in memory for every block on disk. A full store (256 MiB) is ~8,000 blocks, so an entry is
 * kept small: the block's source-file ends are not in it (they matter once, as the block is
 * written or recovered, and go to the store's per-file map), and blocks of the same containers
 * share one list. As first written (with the ends and a list per block) the index took ~400 bytes
 * a block, 3 MiB of live heap over a 2 GiB backlog that filled the store.
 */
export interface BlockIndex {
  offset: number;
  size: number;
  count: number;
  minTs: number;
  maxTs: number;
  containers: readonly string[];
}

export interface SegmentIndex {
  seq: number;
  path: string;
  bytes: number;
  records: number;
  minTs: number;
  maxTs: number;
  containers: Set<string>;
  blocks: BlockIndex[];
}

export function emptySegment(seq: number, path: string): SegmentIndex {
  return { seq, path, bytes: 0, records: 0, minTs: Infinity, maxTs: -Infinity, containers: new Set(), blocks: [] };
}

/** Adds a block to the index (what of `b` goes beyond BlockIndex, such as its ends, is not kept). */
export function addBlock(seg: SegmentIndex, b: BlockIndex): void {
  const prev = seg.blocks[seg.blocks.length - 1]?.containers;
  const containers = prev !== undefined && sameList(prev, b.containers) ? prev : b.containers;
  seg.blocks.push({ offset: b.offset, size: b.size, count: b.count, minTs: b.minTs, maxTs: b.maxTs, containers });
  seg.bytes = b.offset + b.size;
  seg.records += b.count;
  if (b.minTs < seg.minTs) seg.minTs = b.minTs;
  if (b.maxTs > seg.maxTs) seg.maxTs = b.maxTs;
  for (const c of b.containers) seg.containers.add(c);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
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
    addBlock(index, {
      offset: at,
      size: b.size,
      count: b.count,
      minTs: b.minTs,
      maxTs: b.maxTs,
      containers: b.containers,
    });
    ends.push(...b.ends);
    at += b.size;
  }
  return { index, validBytes: at, ends };
}
