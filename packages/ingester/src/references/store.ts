/**
 * Keyframe bodies for batch frames compressed against earlier batches: an in-memory LRU in front
 * of the et_batch_references table. Every ingester writes the keyframes it decodes to the table
 * before acknowledging them, so a node's next batch decodes on whichever ingester the shared
 * subscription hands it to; the cache makes the common case (same ingester) free.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { createGroupCommit } from '../storage/group-commit.js';
import { REFERENCE_TABLE } from './tables.js';

export interface ReferenceStore {
  /** The bodies of `seqs` (in that order), or undefined when any is unknown. */
  get(node: string, epoch: number, seqs: readonly number[]): Promise<Buffer[] | undefined>;
  /** Keeps a keyframe's body; resolves once it is in ClickHouse (group-committed with other keyframes), rejects when it could not be stored. */
  put(node: string, epoch: number, seq: number, body: Buffer): Promise<void>;
  stats(): ReferenceStats;
}

export interface ReferenceStats {
  /** References found in the cache, and read from ClickHouse (found there or not). */
  hits: number;
  misses: number;
  cachedBytes: number;
}

export interface ReferenceStoreDeps {
  client: ClickHouseClient;
  cacheBytes: number;
  now?: () => number;
  /** Bound on keyframe bytes queued while an insert of them runs (default 64 MiB). */
  maxQueueBytes?: number;
}

export function createReferenceStore(deps: ReferenceStoreDeps): ReferenceStore {
  const now = deps.now ?? Date.now;
  const cache = new Map<string, Buffer>();
  let cachedBytes = 0;
  let hits = 0;
  let misses = 0;
  const keyOf = (node: string, epoch: number, seq: number) => `${node}/${epoch}/${seq}`;
  let groups = 0;
  // At 1,000 nodes some 30 keyframes arrive a second; one insert each took a third of the
  // embedded engine's time away from the writer.
  const commits = createGroupCommit<Record<string, unknown>>({
    insert: async (values) => {
      await deps.client.insert({
        table: REFERENCE_TABLE,
        values,
        format: 'JSONEachRow',
        // The embedded connection keeps the previous insert's settings; these rows must never be deduplicated away.
        clickhouse_settings: { insert_deduplication_token: `ref/${now()}/${++groups}` },
      });
    },
    maxQueueBytes: deps.maxQueueBytes ?? 64 * 1024 * 1024,
    onError: () => {},
  });

  function remember(key: string, body: Buffer): void {
    const old = cache.get(key);
    if (old) {
      cache.delete(key);
      cachedBytes -= old.length;
    }
    if (body.length > deps.cacheBytes) return;
    cache.set(key, body);
    cachedBytes += body.length;
    // Map iteration is insertion order: the first entries are the least recently used.
    for (const [k, b] of cache) {
      if (cachedBytes <= deps.cacheBytes) break;
      cache.delete(k);
      cachedBytes -= b.length;
    }
  }

  return {
    async get(node, epoch, seqs) {
      const out = new Map<number, Buffer>();
      const missing: number[] = [];
      for (const seq of seqs) {
        const b = cache.get(keyOf(node, epoch, seq));
        if (b) {
          remember(keyOf(node, epoch, seq), b);
          out.set(seq, b);
        } else missing.push(seq);
      }
      hits += seqs.length - missing.length;
      if (missing.length > 0) {
        misses += missing.length;
        const rs = await deps.client.query({
          query: `SELECT Seq, BodyBase64 FROM ${REFERENCE_TABLE} WHERE NodeName = {node:String} AND Epoch = {epoch:UInt32} AND Seq IN {seqs:Array(UInt64)} LIMIT 1 BY Seq`,
          query_params: { node, epoch, seqs: missing },
          format: 'JSONEachRow',
        });
        for (const row of await rs.json<{ Seq: string | number; BodyBase64: string }>()) {
          const body = Buffer.from(row.BodyBase64, 'base64');
          remember(keyOf(node, epoch, Number(row.Seq)), body);
          out.set(Number(row.Seq), body);
        }
      }
      const bodies = seqs.map((s) => out.get(s));
      return bodies.every((b): b is Buffer => b !== undefined) ? bodies : undefined;
    },
    async put(node, epoch, seq, body) {
      const base64 = body.toString('base64');
      if (!(await commits.add({ NodeName: node, Epoch: epoch, Seq: seq, BodyBase64: base64, StoredAt: now() }, base64.length))) {
        throw new Error(`keyframe ${keyOf(node, epoch, seq)} not stored (ClickHouse unavailable or queue full)`);
      }
      remember(keyOf(node, epoch, seq), body);
    },
    stats: () => ({ hits, misses, cachedBytes }),
  };
}
