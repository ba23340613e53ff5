/**
 * Claims (migration 8): which group stores each batch, so that several ingesters on one shared
 * subscription store a batch exactly once. Without them, two things went wrong with ingester
 * processes on one ClickHouse (test/clickhouse-http/scale-out.test.ts):
 * - a node sends a batch again while the first copy is still queued in another ingester (its ack
 *   was late: an overload, a ClickHouse outage): both copies miss the ledger and both are
 *   inserted, each in its own group under its own token;
 * - an ingester dies between a group's first insert and its ledger rows: the tables it reached
 *   hold the group, and the batches, sent again, are inserted again into them.
 * A group now claims its batches first (a row each, with the batch's insert texts), reads the
 * claims back, and inserts only the batches whose first claim is its own. A batch first claimed
 * by another group is stored by finishing that group: its texts are here, its tokens derive from
 * its batches, so an insert the other ingester already made is dropped by ClickHouse as a
 * duplicate and one it did not make is made now, whether that ingester is alive or dead.
 * Costs a claims insert (the group's texts deflated, base64: a fifth to a tenth of the texts) and
 * a read per flush: the claim goes first and the read after it answers what is stored and who owns
 * the rest (no lookup before the claim, which cost a statement in series per flush).
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { ClickHouseClient } from '@clickhouse/client';
import { TABLES, BATCH_TABLES, type BatchTable } from '../storage/tables.js';
import { insertRows } from '../storage/insert.js';
import type { BatchText } from '../storage/batch-text.js';
import { batchKeyString, keyTuples, type BatchKey } from './batch-key.js';

/** A batch as a group stores it: its identity and its insert texts. */
export interface Member extends BatchText {
  key: BatchKey;
}

/**
 * Marks a deflated body. Not a base64 character, so a body written before deflating (plain base64
 * of the JSON head and texts, from an ingester of the previous version in a rolling upgrade) is
 * still told apart and read.
 */
const DEFLATED = 'z:';
/**
 * Deflate's fastest level: the texts are JSON rows that shrink five to ten times even so, and the
 * body is written once and read only when another ingester finishes the group.
 */
const DEFLATE_LEVEL = 1;

/**
 * The texts of a batch in one string: a JSON line of row counts and text lengths by table, then
 * the texts in the order of those lengths; deflated (issue 21: in base64 alone the claims insert,
 * the first of a flush's statements in series, carried 1.35 times the group's texts, more than all
 * its data inserts together), then base64, so it travels as a plain string in any insert format.
 * Keyed by table name, so a claim stays readable when a version adds a table.
 */
export function claimBody(t: BatchText): string {
  const head = {
    rows: t.rows,
    lengths: Object.fromEntries(BATCH_TABLES.map((table) => [table, t.text[table].length])),
  };
  const raw = Buffer.from(JSON.stringify(head) + '\n' + BATCH_TABLES.map((table) => t.text[table]).join(''));
  return DEFLATED + deflateRawSync(raw, { level: DEFLATE_LEVEL }).toString('base64');
}

export function parseClaimBody(body: string): BatchText {
  const all = (
    body.startsWith(DEFLATED)
      ? inflateRawSync(Buffer.from(body.slice(DEFLATED.length), 'base64'))
      : Buffer.from(body, 'base64')
  ).toString('utf8');
  const nl = all.indexOf('\n');
  const head = JSON.parse(all.slice(0, nl)) as {
    rows: Partial<Record<BatchTable, number>>;
    lengths: Partial<Record<BatchTable, number>>;
  };
  const text = Object.fromEntries(BATCH_TABLES.map((table) => [table, ''])) as Record<BatchTable, string>;
  const rows = Object.fromEntries(BATCH_TABLES.map((table) => [table, head.rows[table] ?? 0])) as Record<
    BatchTable,
    number
  >;
  let at = nl + 1;
  let bytes = 0;
  for (const [table, n] of Object.entries(head.lengths) as [BatchTable, number][]) {
    text[table] = all.slice(at, at + n);
    at += n;
    bytes += n;
  }
  const rowCount = BATCH_TABLES.reduce((sum, table) => (table === 'ledger' ? sum : sum + rows[table]), 0);
  return { text, rows, rowCount, bytes };
}

/** Claims `members` for the group `token` (retried under the same deduplication token). */
export function insertClaims(
  client: ClickHouseClient,
  token: string,
  members: readonly Member[],
  at: number,
): Promise<void> {
  return insertRows(
    client,
    'claims',
    members.map((m) => [m.key.node, m.key.epoch, m.key.seq, token, at, claimBody(m)]),
    token,
  );
}

export interface KeyState {
  /** Batches in the ledger: stored. */
  stored: Set<string>;
  /** For the others: the group that claimed each first. */
  owner: Map<string, string>;
}

/** Where each of `keys` stands: in the ledger, or claimed first by which group (absent: neither). */
export async function keyStates(client: ClickHouseClient, keys: readonly BatchKey[]): Promise<KeyState> {
  const tuples = keyTuples(keys);
  const rs = await client.query({
    query: `SELECT NodeName, Epoch, Seq, '' AS Owner FROM ${TABLES.ledger} WHERE (NodeName, Epoch, Seq) IN (${tuples})
      UNION ALL
      SELECT NodeName, Epoch, Seq, argMin(GroupToken, _block_number) FROM ${TABLES.claims}
      WHERE (NodeName, Epoch, Seq) IN (${tuples}) GROUP BY NodeName, Epoch, Seq`,
    format: 'JSONCompactEachRow',
  });
  const state: KeyState = { stored: new Set(), owner: new Map() };
  for (const [node, epoch, seq, owner] of await rs.json<[string, number | string, number | string, string]>()) {
    const k = batchKeyString({ node, epoch: Number(epoch), seq: Number(seq) });
    if (owner === '') state.stored.add(k);
    else state.owner.set(k, owner);
  }
  // A stored batch needs no owner.
  for (const k of state.stored) state.owner.delete(k);
  return state;
}

/**
 * The batches group `token` claimed and owns (claimed first) and that are not in the ledger, with
 * their texts: what that group stores, as it leaves out what its claim check found stored (a group
 * claims before it looks, so it may own a batch stored before the claims' TTL took the first claim).
 */
export async function ownedBy(client: ClickHouseClient, token: string): Promise<Member[]> {
  const mine = `SELECT NodeName, Epoch, Seq FROM ${TABLES.claims} WHERE GroupToken = {token:String}`;
  const rs = await client.query({
    query: `SELECT NodeName, Epoch, Seq, anyIf(Body, GroupToken = {token:String}) AS Body FROM ${TABLES.claims}
      WHERE (NodeName, Epoch, Seq) IN (${mine})
        AND (NodeName, Epoch, Seq) NOT IN (SELECT NodeName, Epoch, Seq FROM ${TABLES.ledger} WHERE (NodeName, Epoch, Seq) IN (${mine}))
      GROUP BY NodeName, Epoch, Seq
      HAVING argMin(GroupToken, _block_number) = {token:String}`,
    query_params: { token },
    format: 'JSONCompactEachRow',
  });
  return (await rs.json<[string, number | string, number | string, string]>()).map(([node, epoch, seq, body]) => ({
    key: { node, epoch: Number(epoch), seq: Number(seq) },
    ...parseClaimBody(body),
  }));
}
