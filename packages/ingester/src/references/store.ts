/**
 * Keyframe bodies for batch frames compressed against earlier batches: an in-memory LRU in front
 * of the et_batch_references table. Every ingester writes the keyframes it decodes to the table
 * before acknowledging them, so a node's next batch decodes on whichever ingester the shared
 * subscription hands it to; the cache makes the common case (same ingester) free.
 *
 * Reads are coalesced: the references missed while one read runs are all asked for in the next
 * one. With N ingesters on a shared subscription about (N-1)/N of the references are another
 * ingester's, and the whole fleet seals its windows at the same moment: one read per batch queued
 * 75-190 ms each behind the engine's other statements (the chdb shim runs one at a time), which
 * held the consumer for tens of seconds after each window (issue 21).
 *
 * Coalesced, the reads still stood in the path of half the batches of a window with three
 * ingesters (p50 0.5-0.9 s at 1,000 nodes, and the node's next batches waited in its lane behind
 * them). A node refers only to keyframes acknowledged at least a window earlier, so an ingester
 * that reads every keyframe stored since it last looked, every few seconds (catchUp, called by
 * references/follow.ts), has them before they are needed: one read per interval whatever the fleet.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { createGroupCommit } from '../storage/group-commit.js';
import { insertRows } from '../storage/insert.js';
import { keysetPages } from '../storage/keyset-pages.js';
import { TABLES } from '../storage/tables.js';
import { keySet } from '../writer/batch-key.js';

export interface ReferenceStore {
  /** The bodies of `seqs` (in that order), or undefined when any is unknown. */
  get(node: string, epoch: number, seqs: readonly number[]): Promise<Buffer[] | undefined>;
  /** Keeps a keyframe's body; resolves once it is in ClickHouse (group-committed with other keyframes), rejects when it could not be stored. */
  put(node: string, epoch: number, seq: number, body: Buffer): Promise<void>;
  /** Resolves when every queued keyframe is stored or refused (at shutdown, before the last acks). */
  drain(): Promise<void>;
  /**
   * Reads into the cache the keyframes stored since the last call (from `FOLLOW_LAG_MS` before it
   * began), by every ingester: with several on a shared subscription, most of a node's next
   * batches go to an ingester that did not store its keyframes. The first call warms the cache up
   * instead: the keyframes of the last WARMUP_BACK_MS, newest first, up to half the cache. Reads
   * in pages of FOLLOW_PAGE_ROWS, so an answer never sits whole in memory. What it reads takes
   * only the room batches leave: past the cache's bound its oldest unused keyframes go first
   * (`followDropped`), never one a batch used or this ingester stored. Resolves with the
   * keyframes read; rejects when ClickHouse could not be read (the next call reads from the same
   * point).
   */
  catchUp(): Promise<number>;
  stats(): ReferenceStats;
}

export interface ReferenceStats {
  /** References found in the cache, and read from ClickHouse (found there or not). */
  hits: number;
  misses: number;
  /** ClickHouse reads (each serves every reference missed while the one before ran). */
  reads: number;
  /** Keyframes read ahead of need by catchUp (another ingester's, mostly). */
  followed: number;
  /**
   * Keyframes read ahead and given up, unused, for room: the cache is too small for the fleet's
   * keyframes (referenceCacheMiB), and batches that need them read them on a miss.
   */
  followDropped: number;
  /**
   * When the last catchUp that succeeded began (ms; 0: none yet): the keyframes stored before it,
   * within FOLLOW_LAG_MS of the one before, are in the cache.
   */
  followedTo: number;
  cachedBytes: number;
}

export interface ReferenceStoreDeps {
  client: ClickHouseClient;
  cacheBytes: number;
  now?: () => number;
}

/** A reference by its key in the cache and its (node, epoch, seq). */
type Ref = readonly [key: string, node: string, epoch: number, seq: number];

interface Waiting {
  refs: Ref[];
  resolve: (bodies: Map<string, Buffer>) => void;
  reject: (err: Error) => void;
}

/** A read names at most this many references; more waiting ones go in the next read. */
const MAX_KEYS_PER_READ = 2_000;
/**
 * Keyframes per catch-up statement: the most of an answer held at once (~25 KB a keyframe at the
 * collector defaults, so about 5 MB). Whole, a look after an outage was ~70 MB of JSON.
 */
export const FOLLOW_PAGE_ROWS = 200;
/**
 * How far before its last call catchUp reads again: a keyframe's StoredAt is taken when it is
 * queued, and its insert lands up to a few seconds later (behind the running one, on a loaded
 * engine); the ingesters' clocks differ by less. One stored later than that, or by an ingester
 * whose clock is further behind, is missed here and read when a batch needs it, as before.
 */
export const FOLLOW_LAG_MS = 10_000;
/**
 * How far back catchUp reads at most: after an outage of ClickHouse (or a stalled loop) it does not
 * pull hours of the fleet's keyframes in one answer; what it skips is read when a batch needs it.
 */
export const FOLLOW_MAX_BACK_MS = 60_000;
/**
 * How far back the first catch-up reads (a started or restarted ingester): the fleet's recent
 * keyframes, newest first, up to half the cache, so that the batches right after a start do not
 * each miss. A node refers to keyframes up to dozens of batches old: older ones are read on a miss.
 */
export const WARMUP_BACK_MS = 10 * 60_000;

/** A catch-up page's position: the last row read, in (StoredAt, NodeName, Epoch, Seq) order. */
interface Cursor {
  at: number;
  node: string;
  epoch: number;
  seq: number;
}

interface FollowRow {
  NodeName: string;
  Epoch: number;
  Seq: string | number;
  BodyBase64: string;
  At: string | number;
}

export function createReferenceStore(deps: ReferenceStoreDeps): ReferenceStore {
  const now = deps.now ?? Date.now;
  // Two parts of one byte bound: bodies a batch used or this ingester stored (least recently used
  // first), and bodies read ahead that no batch used yet (oldest first), given up first for room:
  // reading ahead the whole fleet's keyframes must not evict the ones batches here are using.
  const used = new Map<string, Buffer>();
  const ahead = new Map<string, Buffer>();
  let cachedBytes = 0;
  let hits = 0;
  let misses = 0;
  let reads = 0;
  let followed = 0;
  let followDropped = 0;
  let followedTo = 0;
  /** Where the next catchUp reads from (StoredAt, ms); undefined: it has not read yet, it warms up. */
  let followFrom: number | undefined;
  let waiting: Waiting[] = [];
  let reading = false;
  const keyOf = (node: string, epoch: number, seq: number) => `${node}/${epoch}/${seq}`;
  // At 1,000 nodes some 30 keyframes arrive a second; one insert each took a third of the
  // embedded engine's time away from the writer.
  const commits = createGroupCommit<unknown[]>({ insert: (rows) => insertRows(deps.client, 'references', rows) });

  function forget(key: string): void {
    const old = used.get(key) ?? ahead.get(key);
    if (!old) return;
    used.delete(key);
    ahead.delete(key);
    cachedBytes -= old.length;
  }

  /** Keeps `body` (as used, or as read ahead), then gives up read-ahead ones first, then the least recently used. */
  function remember(key: string, body: Buffer, part: 'used' | 'ahead' = 'used'): void {
    forget(key);
    if (body.length > deps.cacheBytes) return;
    (part === 'used' ? used : ahead).set(key, body);
    cachedBytes += body.length;
    // Map iteration is insertion order: the first entries go first.
    for (const [k, b] of ahead) {
      if (cachedBytes <= deps.cacheBytes) return;
      ahead.delete(k);
      cachedBytes -= b.length;
      followDropped++;
    }
    for (const [k, b] of used) {
      if (cachedBytes <= deps.cacheBytes) return;
      used.delete(k);
      cachedBytes -= b.length;
    }
  }

  /**
   * One page of the keyframes stored at `from` or later, after `c` (before it, `desc`), in
   * (StoredAt, NodeName, Epoch, Seq) order: the table is keyed by node, so every page scans its
   * StoredAt column and reads only the page's bodies.
   */
  async function page(from: number, c: Cursor, desc: boolean): Promise<FollowRow[]> {
    const dir = desc ? 'DESC' : 'ASC';
    const rs = await deps.client.query({
      query: `SELECT NodeName, Epoch, Seq, BodyBase64, toUnixTimestamp64Milli(StoredAt) AS At FROM ${TABLES.references}
        WHERE StoredAt >= fromUnixTimestamp64Milli({from:Int64})
          AND (StoredAt, NodeName, Epoch, Seq) ${desc ? '<' : '>'} (fromUnixTimestamp64Milli({at:Int64}), {node:String}, {epoch:UInt32}, {seq:UInt64})
        ORDER BY StoredAt ${dir}, NodeName ${dir}, Epoch ${dir}, Seq ${dir}
        LIMIT {rows:UInt32}`,
      query_params: { from, ...c, rows: FOLLOW_PAGE_ROWS },
      format: 'JSONEachRow',
    });
    return rs.json<FollowRow>();
  }

  const cursorOf = (r: FollowRow): Cursor => ({
    at: Number(r.At),
    node: r.NodeName,
    epoch: Number(r.Epoch),
    seq: Number(r.Seq),
  });

  /** Every keyframe stored since `from`, oldest first, page by page; how many were new here. */
  async function follow(from: number): Promise<number> {
    let n = 0;
    // Before every row at `from` (the tuple's first element decides).
    const first: Cursor = { at: from - 1, node: '', epoch: 0, seq: 0 };
    for await (const rows of keysetPages(first, FOLLOW_PAGE_ROWS, (c) => page(from, c, false), cursorOf)) {
      for (const row of rows) {
        const key = keyOf(row.NodeName, Number(row.Epoch), Number(row.Seq));
        // Read again within the lag: already here, and its recency is its batches' to set.
        if (used.has(key) || ahead.has(key)) continue;
        remember(key, Buffer.from(row.BodyBase64, 'base64'), 'ahead');
        n++;
      }
    }
    return n;
  }

  /**
   * The keyframes stored from `from` to `to`, newest first, until half the cache is taken; kept
   * oldest first, so that the newest are the last given up.
   */
  async function warmUp(from: number, to: number): Promise<number> {
    const got: Array<[string, Buffer]> = [];
    let bytes = cachedBytes;
    // After every row at `to` (the tuple's first element decides).
    const first: Cursor = { at: to + 1, node: '', epoch: 0, seq: 0 };
    for await (const rows of keysetPages(first, FOLLOW_PAGE_ROWS, (c) => page(from, c, true), cursorOf)) {
      for (const row of rows) {
        const key = keyOf(row.NodeName, Number(row.Epoch), Number(row.Seq));
        if (used.has(key) || ahead.has(key)) continue;
        const body = Buffer.from(row.BodyBase64, 'base64');
        if (bytes + body.length > deps.cacheBytes / 2) return keep(got);
        got.push([key, body]);
        bytes += body.length;
      }
    }
    return keep(got);
  }

  function keep(got: Array<[string, Buffer]>): number {
    for (let i = got.length - 1; i >= 0; i--) remember(...(got[i] as [string, Buffer]), 'ahead');
    return got.length;
  }

  /** One read for the references of the waiting gets (up to MAX_KEYS_PER_READ). */
  async function read(refs: readonly Ref[]): Promise<Map<string, Buffer>> {
    reads++;
    const nodes = [...new Set(refs.map(([, node]) => node))];
    // Each key once: many waiting batches name the same keyframe.
    const keys = new Map(refs.map(([, node, epoch, seq]) => [`${node}\n${epoch}\n${seq}`, { node, epoch, seq }]));
    const set = keySet([...keys.values()]);
    // NodeName and Epoch lead the table's key: the first condition selects its granules.
    const rs = await deps.client.query({
      query: `SELECT NodeName, Epoch, Seq, BodyBase64 FROM ${TABLES.references}
        WHERE NodeName IN {nodes:Array(String)} AND (NodeName, Epoch, Seq) IN (${set})
        LIMIT 1 BY NodeName, Epoch, Seq`,
      query_params: { nodes },
      format: 'JSONEachRow',
    });
    const found = new Map<string, Buffer>();
    for (const row of await rs.json<{ NodeName: string; Epoch: number; Seq: string | number; BodyBase64: string }>()) {
      const key = keyOf(row.NodeName, Number(row.Epoch), Number(row.Seq));
      const body = Buffer.from(row.BodyBase64, 'base64');
      remember(key, body);
      found.set(key, body);
    }
    return found;
  }

  async function readLoop(): Promise<void> {
    while (waiting.length > 0) {
      let keys = 0;
      let take = 0;
      while (take < waiting.length && (take === 0 || keys < MAX_KEYS_PER_READ)) keys += waiting[take++]!.refs.length;
      const taken = waiting.slice(0, take);
      waiting = waiting.slice(take);
      try {
        const found = await read(taken.flatMap((w) => w.refs));
        for (const w of taken) w.resolve(found);
      } catch (err) {
        for (const w of taken) w.reject(err as Error);
      }
    }
    reading = false;
  }

  return {
    async get(node, epoch, seqs) {
      const keys = seqs.map((seq) => keyOf(node, epoch, seq));
      const out = new Map<string, Buffer>();
      const missing: Ref[] = [];
      keys.forEach((key, i) => {
        const b = used.get(key) ?? ahead.get(key);
        if (b) {
          // Used now: from the read-ahead part (if there) to the most recently used end.
          remember(key, b);
          out.set(key, b);
        } else missing.push([key, node, epoch, seqs[i] as number]);
      });
      hits += keys.length - missing.length;
      if (missing.length > 0) {
        misses += missing.length;
        const found = await new Promise<Map<string, Buffer>>((resolve, reject) => {
          waiting.push({ refs: missing, resolve, reject });
          if (!reading) {
            reading = true;
            // The next turn of the event loop: the messages read from the socket meanwhile join this read.
            setImmediate(() => void readLoop());
          }
        });
        for (const [key] of missing) {
          const b = found.get(key);
          if (b) out.set(key, b);
        }
      }
      const bodies = keys.map((k) => out.get(k));
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
    async catchUp() {
      const startedAt = now();
      const n =
        followFrom === undefined
          ? await warmUp(startedAt - WARMUP_BACK_MS, startedAt)
          : await follow(Math.max(followFrom, startedAt - FOLLOW_MAX_BACK_MS));
      followed += n;
      followedTo = startedAt;
      followFrom = startedAt - FOLLOW_LAG_MS;
      return n;
    },
    stats: () => ({ hits, misses, reads, followed, followDropped, followedTo, cachedBytes }),
  };
}
