/**
 * Keyframe bodies for batch frames compressed against earlier batches: an in-memory LRU in front
 * of the et_batch_references table. Every ingester writes the keyframes it decodes to the table
 * before acknowledging them, so a node's next batch decodes on whichever ingester the shared
 * subscription hands it to; the cache makes the common case (same ingester) free.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { createGroupCommit } from '../storage/group-commit.js';
import { insertRows } from '../storage/insert.js';
import { TABLES } from '../storage/tables.js';

export interface ReferenceStore {
  /** The bodies of `seqs` (in that order), or undefined when any is unknown. */
  get(node: string, epoch: number, seqs: readonly number[]): Promise<Buffer[] | undefined>;
  /** Keeps a keyframe's body; resolves once it is in ClickHouse (group-committed with other keyframes), rejects when it could not be stored. */
  put(node: string, epoch: number, seq: number, body: Buffer): Promise<void>;
  /** Resolves when every queued keyframe is stored or refused (at shutdown, before the last acks). */
  drain(): Promise<void>;
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
}

export function createReferenceStore(deps: ReferenceStoreDeps): ReferenceStore {
  const now = deps.now ?? Date.now;
  const cache = new Map<string, Buffer>();
  let cachedBytes = 0;
  let hits = 0;
  let misses = 0;
  const keyOf = (node: string, epoch: number, seq: number) => `${node}/${epoch}/${seq}`;
  // At 1,000 nodes some 30 keyframes arrive a second; one insert each took a third of the
  // embedded engine's time away from the writer.
  const commits = createGroupCommit<unknown[]>({ insert: (rows) => insertRows(deps.client, 'references', rows) });

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
        const key = keyOf(node, epoch, seq);
        const b = cache.get(key);
        if (b) {
          remember(key, b);
          out.set(seq, b);
        } else missing.push(seq);
      }
      hits += seqs.length - missing.length;
      if (missing.length > 0) {
        misses += missing.length;
        const rs = await deps.client.query({
          query: `SELECT Seq, BodyBase64 FROM ${TABLES.references} WHERE NodeName = {node:String} AND Epoch = {epoch:UInt32} AND Seq IN {seqs:Array(UInt64)} LIMIT 1 BY Seq`,
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
      if (!(await commits.add([node, epoch, seq, base64, now()], base64.length))) {
        throw new Error(`keyframe ${keyOf(node, epoch, seq)} not stored (ClickHouse unavailable or queue full)`);
      }
      remember(keyOf(node, epoch, seq), body);
    },
    drain: () => commits.drain(),
    stats: () => ({ hits, misses, cachedBytes }),
  };
}
