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

/**
 * The keys as a subquery for `(NodeName, Epoch, Seq) IN (...)`: one string literal read by the
 * format() table function, not a literal tuple per key. ClickHouse parses and analyses a literal
 * list as a syntax tree of a node per value: the claim check, two such lists of a group's keys,
 * cost the engine 60-170 ms of CPU per 1,700 keys for that alone (with format(): 10-20 ms, of which
 * about 5 ms is any statement's), more than the claims insert before it (issue 21). The set it
 * builds is the same, and ClickHouse uses a subquery's set for the primary key as it does a
 * literal list's. Node ids match the protocol's strict pattern; JSON and SQL escaping anyway.
 */
export function keySet(keys: readonly BatchKey[]): string {
  const rows = keys.map((k) => JSON.stringify([k.node, Math.trunc(k.epoch), Math.trunc(k.seq)])).join('\n');
  return `SELECT NodeName, Epoch, Seq FROM format(JSONCompactEachRow, 'NodeName String, Epoch UInt64, Seq UInt64', ${sqlString(rows)})`;
}
