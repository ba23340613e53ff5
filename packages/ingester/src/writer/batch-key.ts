/** Identity of a batch and of a group of batches: pure functions, so retries reuse them exactly. */
import { createHash } from 'node:crypto';
import { sqlString } from '../storage/insert.js';

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

/** `(('n1',1,2),('n2',1,3))` for an IN clause; node ids match the protocol's strict pattern, quotes escaped anyway. */
export function keyTuples(keys: readonly BatchKey[]): string {
  return keys.map((k) => `(${sqlString(k.node)},${Math.trunc(k.epoch)},${Math.trunc(k.seq)})`).join(',');
}
