/**
 * Fills in the template texts a node left out, before the batch's rows are written, so that every
 * row of et_log_templates holds its text and no reader has to look for it elsewhere.
 *
 * A node leaves a row's text out once a batch carrying that text for the same (container,
 * template id), at most TEMPLATE_TEXT_LOOKBACK_MS older, was acknowledged (protocol
 * LogTemplate.template), i.e. once that batch's rows were stored. So the text is found in this
 * process when it decoded that batch (an LRU of `cacheBytes`), and otherwise in ClickHouse:
 * after a restart, or when another ingester of the shared subscription stored it. Lookups are
 * coalesced: the batches that miss while one read runs share the next read, so a restart in front
 * of a whole fleet costs a few reads, not one per batch.
 *
 * A text found nowhere (data lost, or a node that left out what it never sent) stays empty and is
 * counted (`unresolved`) and logged with ET_ERR_TEMPLATE_TEXT_UNKNOWN; the row's counts are kept,
 * and `onUnresolved` is told, so that the node pays for the lookups it caused (ingester.ts charges
 * its byte quota). A batch looks up at most MAX_LOOKUPS_PER_BATCH texts; the rest of what it left
 * out and this process does not hold is found nowhere without a read (`notLookedUp`).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { TEMPLATE_TEXT_LOOKBACK_MS, type Batch, type LogTemplate } from '@edge-telemetry/protocol';
import type { IngesterErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import { keysetPages } from '../storage/keyset-pages.js';
import { rowSet, setRow } from '../storage/row-set.js';
import { TABLES } from '../storage/tables.js';

export interface TemplateTextStats {
  /** Rows that left their text out, by where it was found: the cache, ClickHouse, or nowhere. */
  fromCache: number;
  fromStorage: number;
  unresolved: number;
  /** Of `unresolved`: rows beyond a batch's MAX_LOOKUPS_PER_BATCH, not looked up. */
  notLookedUp: number;
  /** ClickHouse reads (each serves every batch that missed while the one before ran). */
  reads: number;
  /** Texts read ahead of need by catchUp. */
  followed: number;
  cachedBytes: number;
}

export interface TemplateTextResolver {
  /**
   * The batch with its omitted texts filled in (the same object when it left none out); learns
   * the texts it carries. Rejects when ClickHouse could not be read (the batch is then not
   * acknowledged, and the node sends it again).
   */
  fill(batch: Batch): Promise<Batch>;
  /** Resolves while fewer than MAX_WAITING batches wait for a read: the consumer's memory bound while ClickHouse is slow. */
  waitForRoom(): Promise<void>;
  /**
   * Reads ahead the texts rows stored since the last call carried (most of them another
   * ingester's, with several on a shared subscription), so the batches that leave them out find
   * them here: rows last seen from TEXT_FOLLOW_BACK_MS before the last call on (a row's LastSeen is
   * within its window, up to a window before the batch is stored). The first call warms up from
   * the lookback (what a node may leave out). Pages of TEXT_PAGE_ROWS keys, then the texts of the
   * keys not held yet. Resolves with the texts new here; rejects when ClickHouse could not be read (the next call reads from the same point).
   */
  catchUp(): Promise<number>;
  stats(): TemplateTextStats;
}

export interface TemplateTextResolverDeps {
  client: ClickHouseClient;
  cacheBytes: number;
  logger: Logger;
  lookbackMs?: number;
  now?: () => number;
  /** Told of every batch with texts found nowhere: the node's rows that cost lookups for nothing. */
  onUnresolved?: (node: string, rows: number) => void;
}

interface Known {
  text: string;
  /** LastSeen of the row that carried it. */
  at: number;
}

interface Waiting {
  batch: Batch;
  resolve: (b: Batch) => void;
  reject: (e: Error) => void;
}

const keyOf = (node: string, container: string, id: string): string => `${node}\u0000${container}\u0000${id}`;
/** Map overhead per entry, roughly, besides the key and text characters. */
const ENTRY_OVERHEAD = 64;
/** A read names at most this many (node, container, id) keys; more waiting rows go in the next read. */
const MAX_KEYS_PER_READ = 5_000;
/**
 * Most bytes of (node, container, id) keys in one statement: they are query text, which ClickHouse
 * parses up to max_query_size (256 KiB by default), and a catch-up page or a read of 5,000 keys
 * with long names is more (a node id may have 64 characters); more keys go in further statements.
 */
const MAX_KEY_TEXT_BYTES = 128 * 1024;
const MAX_WAITING = 1_000;
/**
 * Texts one batch may have looked up in ClickHouse. A node leaves out only texts it sent within the
 * hour, at most its templates per window (2,000 at the collector's default); session 12's flood
 * left out 100,000 ids it never sent, per batch, two batches a second, and kept the engine busy for
 * minutes with key lookups (33 reads a batch) before each was stored empty.
 */
export const MAX_LOOKUPS_PER_BATCH = 20_000;
/**
 * What a text found nowhere costs its node's byte quota (ingester.ts): about what its lookup cost,
 * in decoding bytes. That flood cost ~35 µs of engine and ingester time per lookup (6 million in
 * some 3.5 minutes), decoding ~2 ns a byte (a 15.6 MB body in 30 ms): 16 KiB. A node's share goes
 * into debt (one burst at most, quotas.charge), so its next batches are dropped before they are
 * decompressed until the share refills: one such batch per few seconds per node instead of two a
 * second. A node that lost a few texts (data restored from a backup) pays a few of them once.
 */
export const UNRESOLVED_TEXT_CHARGE_BYTES = 16 * 1024;
/**
 * How far before its last call catchUp reads again, in LastSeen: a row is last seen within its
 * window (60 s at the collector defaults), sealed within seconds of the window's end and stored
 * seconds later. A row older than that when stored (a backlog window, a longer window) is read on
 * a miss, as before.
 */
export const TEXT_FOLLOW_BACK_MS = 2 * 60_000;
/** Rows per catch-up statement (~150 B each): the most of an answer held at once. */
export const TEXT_PAGE_ROWS = 5_000;

/** A catch-up row: NodeName, ContainerName, TemplateId, LastSeen (ms). */
type TextRow = [string, string, string, string | number];

/** A catch-up page's position: the last row read, in (LastSeen, NodeName, ContainerName, TemplateId) order. */
interface Cursor {
  at: number;
  node: string;
  container: string;
  id: string;
}

export function createTemplateTextResolver(deps: TemplateTextResolverDeps): TemplateTextResolver {
  const lookbackMs = deps.lookbackMs ?? TEMPLATE_TEXT_LOOKBACK_MS;
  const cache = new Map<string, Known>();
  let cachedBytes = 0;
  const now = deps.now ?? Date.now;
  const s: Omit<TemplateTextStats, 'cachedBytes'> = {
    fromCache: 0,
    fromStorage: 0,
    unresolved: 0,
    reads: 0,
    followed: 0,
    notLookedUp: 0,
  };
  /** LastSeen the next catchUp reads from (ms); undefined: it has not read yet, it warms up. */
  let followFrom: number | undefined;
  let waiting: Waiting[] = [];
  let reading: Promise<void> | undefined;
  const roomWaiters: (() => void)[] = [];

  const size = (key: string, k: Known) => key.length + k.text.length + ENTRY_OVERHEAD;

  function remember(key: string, k: Known): void {
    const old = cache.get(key);
    if (old) {
      // A text older than the one held (a backlog batch arriving late) does not replace it.
      if (old.at > k.at) return;
      cache.delete(key);
      cachedBytes -= size(key, old);
    }
    if (size(key, k) > deps.cacheBytes) return;
    cache.set(key, k);
    cachedBytes += size(key, k);
    // Map iteration is insertion order: the first entries are the least recently used.
    for (const [key2, k2] of cache) {
      if (cachedBytes <= deps.cacheBytes) break;
      cache.delete(key2);
      cachedBytes -= size(key2, k2);
    }
  }

  /** The held text a row may have relied on: carried at most lookbackMs before the row's lastSeen. */
  function held(node: string, t: LogTemplate): string | undefined {
    const key = keyOf(node, t.container, t.id);
    const k = cache.get(key);
    if (k === undefined || k.at < t.lastSeen - lookbackMs) return undefined;
    cache.delete(key);
    cache.set(key, k);
    return k.text;
  }

  function learn(b: Batch): void {
    for (const t of b.templates)
      if (t.template !== '') remember(keyOf(b.node, t.container, t.id), { text: t.template, at: t.lastSeen });
  }

  /** Fills what the cache knows; `final` counts what is still missing as unresolved. */
  function fillFrom(b: Batch, counter: 'fromCache' | 'fromStorage', final: boolean): { batch: Batch; missing: number } {
    let missing = 0;
    let changed = false;
    const templates = b.templates.map((t) => {
      if (t.template !== '') return t;
      const text = held(b.node, t);
      if (text === undefined) {
        missing++;
        return t;
      }
      s[counter]++;
      changed = true;
      return { ...t, template: text };
    });
    if (final && missing > 0) {
      s.unresolved += missing;
      deps.onUnresolved?.(b.node, missing);
      deps.logger.warn(
        {
          code: 'ET_ERR_TEMPLATE_TEXT_UNKNOWN' satisfies IngesterErrorCode,
          node: b.node,
          epoch: b.epoch,
          seq: b.seq,
          rows: missing,
        },
        'template rows left their text out, and no stored row has it; stored with an empty text',
      );
    }
    return { batch: changed ? { ...b, templates } : b, missing };
  }

  /**
   * The latest stored text of each of `keys` (node, container, id) last seen at `since` or later,
   * into the cache; how many were found.
   */
  async function readTexts(keys: Iterable<[string, string, string]>, since: number): Promise<number> {
    let found = 0;
    let rows: string[] = [];
    let bytes = 0;
    for (const k of keys) {
      const row = setRow(k);
      if (rows.length > 0 && bytes + Buffer.byteLength(row) > MAX_KEY_TEXT_BYTES) {
        found += await readTextsIn(rows, since);
        rows = [];
        bytes = 0;
      }
      rows.push(row);
      bytes += Buffer.byteLength(row) + 1;
    }
    return rows.length > 0 ? found + (await readTextsIn(rows, since)) : found;
  }

  /** readTexts' statement for the keys of `rows` (setRow's lines). */
  async function readTextsIn(keys: readonly string[], since: number): Promise<number> {
    // The table is ordered by (NodeName, ContainerName, TemplateId, LastSeen): a key lookup.
    const rs = await deps.client.query({
      query: `SELECT NodeName, ContainerName, TemplateId, argMax(Template, LastSeen), toUnixTimestamp64Milli(max(LastSeen))
        FROM ${TABLES.templates}
        WHERE (NodeName, ContainerName, TemplateId) IN (${rowSet('NodeName String, ContainerName String, TemplateId String', keys)})
          AND Template != '' AND LastSeen >= fromUnixTimestamp64Milli({since:Int64})
        GROUP BY NodeName, ContainerName, TemplateId`,
      query_params: { since: Math.max(0, Math.floor(since)) },
      format: 'JSONCompactEachRow',
    });
    const rows = await rs.json<[string, string, string, string, string | number]>();
    for (const [node, container, id, text, at] of rows) remember(keyOf(node, container, id), { text, at: Number(at) });
    return rows.length;
  }

  /** One read for the missing rows of the waiting batches (up to MAX_KEYS_PER_READ keys). */
  async function read(batches: readonly Batch[]): Promise<void> {
    const keys = new Map<string, [string, string, string]>();
    let since = Number.POSITIVE_INFINITY;
    for (const b of batches) {
      const missing = b.templates.filter((t) => t.template === '' && held(b.node, t) === undefined);
      for (const t of missing.slice(0, MAX_LOOKUPS_PER_BATCH)) {
        keys.set(keyOf(b.node, t.container, t.id), [b.node, t.container, t.id]);
        since = Math.min(since, t.lastSeen - lookbackMs);
      }
      s.notLookedUp += Math.max(0, missing.length - MAX_LOOKUPS_PER_BATCH);
    }
    if (keys.size === 0) return;
    s.reads++;
    await readTexts(keys.values(), since);
  }

  /**
   * One page of the rows with a text last seen at `from` or later, after `c`, in key order: their
   * keys and times, not their texts (those of the rows new here are read by key after the page).
   */
  async function page(from: number, c: Cursor): Promise<TextRow[]> {
    // LastSeen leads the partition key (by day) and every part's min-max index skips old parts.
    const rs = await deps.client.query({
      query: `SELECT NodeName, ContainerName, TemplateId, toUnixTimestamp64Milli(LastSeen) AS At FROM ${TABLES.templates}
        WHERE LastSeen >= fromUnixTimestamp64Milli({from:Int64}) AND Template != ''
          AND (LastSeen, NodeName, ContainerName, TemplateId) > (fromUnixTimestamp64Milli({at:Int64}), {node:String}, {container:String}, {id:String})
        ORDER BY LastSeen, NodeName, ContainerName, TemplateId
        LIMIT {rows:UInt32}`,
      query_params: { from, ...c, rows: TEXT_PAGE_ROWS },
      format: 'JSONCompactEachRow',
    });
    return rs.json();
  }

  async function readLoop(): Promise<void> {
    while (waiting.length > 0) {
      let keys = 0;
      let take = 0;
      while (take < waiting.length && (take === 0 || keys < MAX_KEYS_PER_READ))
        keys += waiting[take++]!.batch.templates.length;
      const taken = waiting.slice(0, take);
      waiting = waiting.slice(take);
      if (waiting.length < MAX_WAITING) for (const w of roomWaiters.splice(0)) w();
      try {
        await read(taken.map((w) => w.batch));
      } catch (err) {
        for (const w of taken) w.reject(err as Error);
        continue;
      }
      for (const w of taken) w.resolve(fillFrom(w.batch, 'fromStorage', true).batch);
    }
    reading = undefined;
  }

  return {
    fill(batch) {
      learn(batch);
      if (batch.templates.every((t) => t.template !== '')) return Promise.resolve(batch);
      const first = fillFrom(batch, 'fromCache', false);
      if (first.missing === 0) return Promise.resolve(first.batch);
      return new Promise<Batch>((resolve, reject) => {
        waiting.push({ batch: first.batch, resolve, reject });
        reading ??= readLoop();
      });
    },
    waitForRoom() {
      if (waiting.length < MAX_WAITING) return Promise.resolve();
      return new Promise<void>((r) => roomWaiters.push(r));
    },
    async catchUp() {
      const startedAt = now();
      const from = followFrom ?? startedAt - lookbackMs;
      let n = 0;
      // Before every row at `from` (the tuple's first element decides).
      const first: Cursor = { at: from - 1, node: '', container: '', id: '' };
      const cursorOf = ([node, container, id, at]: TextRow): Cursor => ({ at: Number(at), node, container, id });
      for await (const rows of keysetPages(first, TEXT_PAGE_ROWS, (c) => page(from, c), cursorOf)) {
        // Most rows of the span were read by the looks before (or carried by this ingester's
        // batches): only the texts of the others are read, so a look costs their keys, not every
        // text of two minutes again (issue 21: the engine went from 14 to 20 % busy with them).
        const fresh = new Map<string, [string, string, string]>();
        for (const [node, container, id, at] of rows) {
          const key = keyOf(node, container, id);
          // Held already: its recency in the LRU is its batches' to set.
          if ((cache.get(key)?.at ?? -1) < Number(at)) fresh.set(key, [node, container, id]);
        }
        if (fresh.size > 0) n += await readTexts(fresh.values(), from);
      }
      s.followed += n;
      followFrom = startedAt - TEXT_FOLLOW_BACK_MS;
      return n;
    },
    stats: () => ({ ...s, cachedBytes }),
  };
}
