/**
 * Which chunks of one pull are stored. A chunk is `pending` from arrival until its insert is done,
 * so a copy arriving meanwhile (QoS 1 redelivery) is recognised as a duplicate, and a failed insert
 * makes it missing again. Plain data and functions: the coordinator owns one per running pull.
 */
export interface ChunkTracker {
  stored: Set<number>;
  pending: Set<number>;
  /** Chunks 0..contiguous-1 are all stored. */
  contiguous: number;
  /** Highest seq seen (stored or pending), -1 before any. */
  highest: number;
  /** Known once the node's `end` arrived. */
  total: number | undefined;
}

export function createTracker(): ChunkTracker {
  return { stored: new Set(), pending: new Set(), contiguous: 0, highest: -1, total: undefined };
}

/** True when the chunk is new and now pending; false for a duplicate. */
export function admitChunk(t: ChunkTracker, seq: number): boolean {
  if (t.stored.has(seq) || t.pending.has(seq)) return false;
  t.pending.add(seq);
  t.highest = Math.max(t.highest, seq);
  return true;
}

export function chunkStored(t: ChunkTracker, seq: number): void {
  t.pending.delete(seq);
  t.stored.add(seq);
  while (t.stored.has(t.contiguous)) t.contiguous++;
}

export function chunkFailed(t: ChunkTracker, seq: number): void {
  t.pending.delete(seq);
}

/** Chunks below `upTo` (the total when known, else the highest seen + 1) neither stored nor pending. */
export function missingChunks(t: ChunkTracker, limit = 10_000): number[] {
  const upTo = t.total ?? t.highest + 1;
  const out: number[] = [];
  for (let s = t.contiguous; s < upTo && out.length < limit; s++)
    if (!t.stored.has(s) && !t.pending.has(s)) out.push(s);
  return out;
}

export function isComplete(t: ChunkTracker): boolean {
  return t.total !== undefined && t.pending.size === 0 && t.contiguous >= t.total;
}
