/** Identity of a batch and of a group of batches: pure functions, so retries reuse them exactly. */
import { createHash } from 'node:crypto';
import { rowSet, setRow } from '../storage/row-set.js';

export interface BatchKey {
  node: string;
  epoch: number;
  seq: number;
}

export function batchKeyString(k: BatchKey): string {
  return `${k.node}/${k.epoch}/${k.seq}`;
}

/**
 * The insert_deduplication_token of one coalesced insert: the same set of batches gives the same
 * token whatever their order, so a retried insert of that group is stored once.
 */
export function groupToken(keys: readonly BatchKey[]): string {
  const h = createHash('sha256');
  for (const k of keys.map(batchKeyString).sort()) h.update(k).update('\n');
  return h.digest('hex').slice(0, 40);
}

/** The keys as a subquery for `(NodeName, Epoch, Seq) IN (...)` (storage/row-set.ts says why). */
export function keySet(keys: readonly BatchKey[]): string {
  return rowSet(
    'NodeName String, Epoch UInt64, Seq UInt64',
    keys.map((k) => setRow([k.node, Math.trunc(k.epoch), Math.trunc(k.seq)])),
  );
}
