/**
 * ClickHouse reads and writes of the log-pull tables. Every insert sets its own (empty)
 * deduplication token: the embedded engine keeps per-query settings as session SETs, and a token
 * left over from another insert would silently drop these rows (see storage/insert.ts).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { PullFilter } from '@edge-telemetry/protocol';
import { COLUMNS, TABLES } from '../storage/tables.js';

export type PullStateName = 'queued' | 'running' | 'done' | 'failed' | 'expired' | 'cancelled';

export interface PullRecord {
  id: string;
  node: string;
  state: PullStateName;
  filter: PullFilter;
  requestedBy: string;
  createdAt: number;
  expiresAt: number;
  startedAt?: number;
  finishedAt?: number;
  linesReceived: number;
  bytesReceived: number;
  bytesExpected?: number;
  chunksExpected?: number;
  error?: string;
  /** The ingester running the pull (its lease: coordinator.ts). */
  owner?: string;
  /** When the row was written (read back only): the owner's last heartbeat. */
  updatedAt?: number;
}

async function insert(client: ClickHouseClient, table: 'pulls' | 'pulledLines', values: unknown[][]): Promise<void> {
  await client.insert({
    table: TABLES[table],
    columns: [...COLUMNS[table]],
    values,
    format: 'JSONCompactEachRow',
    clickhouse_settings: { insert_deduplication_token: '' },
  });
}

export function savePull(client: ClickHouseClient, p: PullRecord, now: number): Promise<void> {
  return insert(client, 'pulls', [
    [
      p.id,
      p.node,
      p.state,
      JSON.stringify(p.filter),
      p.requestedBy,
      p.createdAt,
      p.expiresAt,
      p.startedAt ?? null,
      p.finishedAt ?? null,
      p.linesReceived,
      p.bytesReceived,
      p.bytesExpected ?? null,
      p.chunksExpected ?? null,
      p.error ?? '',
      now,
      p.owner ?? '',
    ],
  ]);
}

export function saveLines(client: ClickHouseClient, rows: unknown[][]): Promise<void> {
  return insert(client, 'pulledLines', rows);
}

interface PullRow {
  PullId: string;
  NodeName: string;
  State: PullStateName;
  Filter: string;
  RequestedBy: string;
  CreatedAt: string | number;
  ExpiresAt: string | number;
  StartedAt: string | number | null;
  FinishedAt: string | number | null;
  LinesReceived: string | number;
  BytesReceived: string | number;
  BytesExpected: string | number | null;
  ChunksExpected: number | null;
  Error: string;
  Owner: string;
  UpdatedAt: string | number;
}

const PULL_COLUMNS = `PullId, NodeName, State, Filter, RequestedBy, toUnixTimestamp64Milli(CreatedAt) AS CreatedAt, toUnixTimestamp64Milli(ExpiresAt) AS ExpiresAt,
  toUnixTimestamp64Milli(StartedAt) AS StartedAt, toUnixTimestamp64Milli(FinishedAt) AS FinishedAt, LinesReceived, BytesReceived, BytesExpected, ChunksExpected, Error,
  Owner, toUnixTimestamp64Milli(UpdatedAt) AS UpdatedAt`;

export async function loadPull(client: ClickHouseClient, id: string): Promise<PullRecord | undefined> {
  const r = await client.query({
    query: `SELECT ${PULL_COLUMNS} FROM ${TABLES.pulls} FINAL WHERE PullId = {id:String} LIMIT 1`,
    query_params: { id },
    format: 'JSONEachRow',
  });
  const row = (await r.json<PullRow>())[0];
  return row ? toRecord(row) : undefined;
}

/**
 * Pulls not finished whose owner is gone: it has written nothing since `before` (ms), it handed
 * them over (no owner), or it is the caller's previous run (`self`, last written by `selfSince`,
 * the caller's start: its own running pulls, written since, would fill the LIMIT in their place).
 * The table's UpdatedAt, qualified: bare, the name is PULL_COLUMNS' alias (milliseconds, an
 * integer), whose comparison with a DateTime64 was never true, so no scan found any orphan.
 */
export async function loadOrphans(
  client: ClickHouseClient,
  before: number,
  self: { id: string; since: number },
): Promise<PullRecord[]> {
  const updatedAt = `${TABLES.pulls}.UpdatedAt`;
  const r = await client.query({
    query: `SELECT ${PULL_COLUMNS} FROM ${TABLES.pulls} FINAL
      WHERE State IN ('queued', 'running')
        AND (${updatedAt} < fromUnixTimestamp64Milli({before:Int64}) OR Owner = ''
          OR (Owner = {self:String} AND ${updatedAt} <= fromUnixTimestamp64Milli({since:Int64})))
      LIMIT 1000`,
    query_params: { before, self: self.id, since: self.since },
    format: 'JSONEachRow',
  });
  return (await r.json<PullRow>()).map(toRecord);
}

/**
 * Pulls not finished and not expired that `requestedBy` asked for or that go to `node`, whichever
 * ingester accepted them: the caps on queued pulls hold across ingesters.
 */
export async function loadOpen(
  client: ClickHouseClient,
  requestedBy: string,
  node: string,
  now: number,
): Promise<Pick<PullRecord, 'id' | 'node' | 'requestedBy'>[]> {
  const r = await client.query({
    query: `SELECT PullId, NodeName, RequestedBy FROM ${TABLES.pulls} FINAL
      WHERE State IN ('queued', 'running') AND ExpiresAt > fromUnixTimestamp64Milli({now:Int64})
        AND (RequestedBy = {by:String} OR NodeName = {node:String}) LIMIT 10000`,
    query_params: { by: requestedBy, node, now },
    format: 'JSONEachRow',
  });
  return (await r.json<Pick<PullRow, 'PullId' | 'NodeName' | 'RequestedBy'>>()).map((row) => ({
    id: row.PullId,
    node: row.NodeName,
    requestedBy: row.RequestedBy,
  }));
}

function toRecord(row: PullRow): PullRecord {
  return {
    id: row.PullId,
    node: row.NodeName,
    state: row.State,
    filter: JSON.parse(row.Filter) as PullFilter,
    requestedBy: row.RequestedBy,
    createdAt: Number(row.CreatedAt),
    expiresAt: Number(row.ExpiresAt),
    ...(row.StartedAt !== null ? { startedAt: Number(row.StartedAt) } : {}),
    ...(row.FinishedAt !== null ? { finishedAt: Number(row.FinishedAt) } : {}),
    linesReceived: Number(row.LinesReceived),
    bytesReceived: Number(row.BytesReceived),
    ...(row.BytesExpected !== null ? { bytesExpected: Number(row.BytesExpected) } : {}),
    ...(row.ChunksExpected !== null ? { chunksExpected: row.ChunksExpected } : {}),
    ...(row.Error ? { error: row.Error } : {}),
    ...(row.Owner ? { owner: row.Owner } : {}),
    updatedAt: Number(row.UpdatedAt),
  };
}

/**
 * The stored lines of chunks [fromSeq, toSeq) in order, as many whole chunks as hold `maxBytes` of
 * line text (at least one), and where the next read starts. Once each: with several ingesters a
 * chunk sent twice (a resend) can be stored by two of them. Bounded by bytes, not chunks: a chunk
 * may decode to limits.maxPullChunkDecodedBytes (4 MiB), so 64 of a node's chunks were 256 MiB of
 * strings in one answer, per reader and per digest read-back (outsider, session 14).
 */
export async function loadLines(
  client: ClickHouseClient,
  id: string,
  fromSeq: number,
  toSeq: number,
  maxBytes: number,
): Promise<{ lines: string[]; toSeq: number }> {
  const to = await chunksWithin(client, id, fromSeq, toSeq, maxBytes);
  const r = await client.query({
    query: `SELECT Line FROM ${TABLES.pulledLines} WHERE PullId = {id:String} AND Seq >= {from:UInt32} AND Seq < {to:UInt32} ORDER BY Seq, Idx LIMIT 1 BY Seq, Idx`,
    query_params: { id, from: fromSeq, to },
    format: 'JSONCompactEachRow',
  });
  return { lines: (await r.json<[string]>()).map((row) => row[0]), toSeq: to };
}

/** One past the last chunk of [fromSeq, toSeq) whose lines, with those before it, fit in `maxBytes` (at least fromSeq + 1). */
async function chunksWithin(
  client: ClickHouseClient,
  id: string,
  fromSeq: number,
  toSeq: number,
  maxBytes: number,
): Promise<number> {
  const r = await client.query({
    query: `SELECT Seq, sum(length(Line)) FROM (
        SELECT Seq, Line FROM ${TABLES.pulledLines} WHERE PullId = {id:String} AND Seq >= {from:UInt32} AND Seq < {to:UInt32} LIMIT 1 BY Seq, Idx)
      GROUP BY Seq ORDER BY Seq`,
    query_params: { id, from: fromSeq, to: toSeq },
    format: 'JSONCompactEachRow',
  });
  let bytes = 0;
  for (const [seq, size] of await r.json<[number, string | number]>()) {
    bytes += Number(size);
    if (bytes > maxBytes) return Math.max(Number(seq), fromSeq + 1);
  }
  return toSeq;
}

/** The chunks stored so far, by whichever ingester. */
export async function loadStoredSeqs(client: ClickHouseClient, id: string): Promise<number[]> {
  const r = await client.query({
    query: `SELECT DISTINCT Seq FROM ${TABLES.pulledLines} WHERE PullId = {id:String}`,
    query_params: { id },
    format: 'JSONCompactEachRow',
  });
  return (await r.json<[number]>()).map(([s]) => Number(s));
}

/** Lines and bytes of stored chunks (each line once), for counting those another ingester stored. */
export async function loadChunkSizes(
  client: ClickHouseClient,
  id: string,
  seqs: readonly number[],
): Promise<Map<number, { lines: number; bytes: number }>> {
  const r = await client.query({
    query: `SELECT Seq, count() AS lines, sum(length(Line)) AS bytes FROM (
        SELECT Seq, Line FROM ${TABLES.pulledLines} WHERE PullId = {id:String} AND has({seqs:Array(UInt32)}, Seq) LIMIT 1 BY Seq, Idx)
      GROUP BY Seq`,
    query_params: { id, seqs },
    format: 'JSONCompactEachRow',
  });
  return new Map(
    (await r.json<[number, string | number, string | number]>()).map(([seq, lines, bytes]) => [
      Number(seq),
      { lines: Number(lines), bytes: Number(bytes) },
    ]),
  );
}

/**
 * Where line `from` of a pull is among its stored chunks 0..`contiguous`-1: the first chunk not
 * wholly before it and how many of its lines come before it; past them all, `contiguous` and the
 * rest (a running pull skips it as chunks come). One row back, computed from the chunks' Seq and
 * Idx (each line once): reading their sizes meant a parameter per chunk and every line's text of
 * the pull (~100,000 chunks and gigabytes for a 10 M line pull) to resume one page.
 */
export async function loadResumePoint(
  client: ClickHouseClient,
  id: string,
  from: number,
  contiguous: number,
): Promise<{ seq: number; skip: number }> {
  if (from === 0 || contiguous === 0) return { seq: 0, skip: from };
  const r = await client.query({
    query: `SELECT Seq, upTo, lines FROM (
        SELECT Seq, lines, sum(lines) OVER (ORDER BY Seq ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS upTo
        FROM (SELECT Seq, uniqExact(Idx) AS lines FROM ${TABLES.pulledLines}
              WHERE PullId = {id:String} AND Seq < {to:UInt32} GROUP BY Seq))
      WHERE upTo > {from:UInt64} OR Seq = {last:UInt32} ORDER BY Seq LIMIT 1`,
    query_params: { id, to: contiguous, from, last: contiguous - 1 },
    format: 'JSONCompactEachRow',
  });
  const row = (await r.json<[number, string | number, string | number]>())[0];
  if (row === undefined) return { seq: contiguous, skip: from };
  const [seq, upTo, lines] = [Number(row[0]), Number(row[1]), Number(row[2])];
  return upTo > from ? { seq, skip: from - (upTo - lines) } : { seq: contiguous, skip: from - upTo };
}

/** One past the highest stored chunk (0 when none): how far a finished pull's lines go. */
export async function loadChunkEnd(client: ClickHouseClient, id: string): Promise<number> {
  const r = await client.query({
    query: `SELECT toUInt32(count()) AS n, max(Seq) AS top FROM ${TABLES.pulledLines} WHERE PullId = {id:String}`,
    query_params: { id },
    format: 'JSONEachRow',
  });
  const row = (await r.json<{ n: number; top: number }>())[0];
  return row && Number(row.n) > 0 ? Number(row.top) + 1 : 0;
}
