import { parseBlock } from './block.js';

/** Where one block of a segment lies, and what it holds: the store's index. */
export interface BlockIndex {
  offset: number;
  size: number;
  count: number;
  minTs: number;
  maxTs: number;
  containers: string[];
  ends: Array<[path: string, inode: number, upTo: number, extra: number[]]>;
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

export function addBlock(seg: SegmentIndex, b: BlockIndex): void {
  seg.blocks.push(b);
  seg.bytes = b.offset + b.size;
  seg.records += b.count;
  if (b.minTs < seg.minTs) seg.minTs = b.minTs;
  if (b.maxTs > seg.maxTs) seg.maxTs = b.maxTs;
  for (const c of b.containers) seg.containers.add(c);
}

/**
 * Indexes a segment's bytes block by block. Stops at the first byte that is not an intact block;
 * `validBytes` is where the good data ends (anything after it is a torn or corrupt tail).
 */
export function scanSegment(seq: number, path: string, data: Buffer): { index: SegmentIndex; validBytes: number } {
  const index = emptySegment(seq, path);
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
      ends: b.ends,
    });
    at += b.size;
  }
  return { index, validBytes: at };
}
