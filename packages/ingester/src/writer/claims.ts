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
import { batchKeyString, keySet, type BatchKey } from './batch-key.js';

/** A batch as a group stores it: its identity and its insert texts. */
export interface Member extends BatchText {
  key: BatchKey;
}

/** Starts the GroupToken of a refusal mark (insertRefusals): not hex, so never a group's token. */
const REFUSED = 'refused:';

/**
 * Starts a body whose texts are deflated. Not a base64 character, so a body written before
 * deflating (plain base64 of the head and texts, from an ingester of the previous version in a
 * rolling upgrade) is still told apart and read.
 */
const DEFLATED = 'z:';
/**
 * Deflate's fastest level: the texts are JSON rows that shrink five to ten times even so, and the
 * body is written once and read only when another ingester finishes the group.
 */
const DEFLATE_LEVEL = 1;

/**
 * A batch in one string: `z:`, a JSON line of row counts and text lengths by table (plain, so SQL
 * can read the counts: `JSONExtractUInt(substring(splitByChar('\\n', Body)[1], 3), 'rows', table)`),
 * then the texts in the order of those lengths, deflated and in base64, so that the body travels
 * as a plain string in any insert format. Deflated since issue 21: in base64 alone the claims
 * insert, the first of a flush's statements in series, carried 1.35 times the group's texts, more
 * than all its data inserts together. Keyed by table name, so a later version that adds a table
 * still reads this version's claims, and this version refuses a later one's rows for a table it does
 * not know (parseClaimBody) rather than finishing the group without them.
 */
export function claimBody(t: BatchText): string {
  const head = {
    rows: t.rows,
    lengths: Object.fromEntries(BATCH_TABLES.map((table) => [table, t.text[table].length])),
  };
  const texts = deflateRawSync(BATCH_TABLES.map((table) => t.text[table]).join(''), { level: DEFLATE_LEVEL });
  return `${DEFLATED}${JSON.stringify(head)}\n${texts.toString('base64')}`;
}

/**
 * A claim body this version cannot read: written by a later version (a body format, or rows for a
 * table, it does not know) or damaged. Reading it anyway would finish the group without some of
 * its rows and acknowledge them; the writer leaves such a group to an ingester that can read it.
 */
export class UnreadableClaimError extends Error {
  override name = 'UnreadableClaimError';
}

/**
 * A later body format takes a prefix of its own: letters and a colon, which base64 (the format
 * before `z:`) never holds, so this version knows a body it must not read.
 */
const FORMAT = /^[a-z]{1,8}:/;

interface Head {
  rows: Record<string, number>;
  lengths: Record<string, number>;
}

const isCounts = (v: unknown): v is Record<string, number> =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  Object.values(v).every((n) => Number.isSafeInteger(n) && (n as number) >= 0);

/** The head line and the texts of a body, in either format this version writes or wrote. */
function split(body: string): { head: string; texts: string } {
  const format = FORMAT.exec(body)?.[0];
  if (format !== undefined && format !== DEFLATED)
    throw new UnreadableClaimError(`body format "${format}" is later than this ingester's`);
  const whole = format ? body : Buffer.from(body, 'base64').toString('utf8');
  const nl = whole.indexOf('\n');
  if (nl < 0) throw new UnreadableClaimError('body has no head line');
  const head = whole.slice(format ? DEFLATED.length : 0, nl);
  const rest = whole.slice(nl + 1);
  if (!format) return { head, texts: rest };
  try {
    return { head, texts: inflateRawSync(Buffer.from(rest, 'base64')).toString('utf8') };
  } catch (err) {
    throw new UnreadableClaimError(`texts do not inflate: ${(err as Error).message}`);
  }
}

function readHead(line: string): Head {
  let head: unknown;
  try {
    head = JSON.parse(line);
  } catch {
    throw new UnreadableClaimError('head is not JSON');
  }
  const { rows, lengths } = (head ?? {}) as Partial<Head>;
  if (!isCounts(rows) || !isCounts(lengths)) throw new UnreadableClaimError('head is not rows and lengths by table');
  const known = new Set<string>(BATCH_TABLES);
  const unknown = Object.keys({ ...rows, ...lengths }).filter(
    (t) => !known.has(t) && ((rows[t] ?? 0) > 0 || (lengths[t] ?? 0) > 0),
  );
  if (unknown.length > 0)
    throw new UnreadableClaimError(`rows for tables this ingester does not know: ${unknown.join(', ')}`);
  return { rows, lengths };
}

/** A claim's texts and counts; throws UnreadableClaimError for a body it cannot read whole. */
export function parseClaimBody(body: string): BatchText {
  const { head: line, texts } = split(body);
  const head = readHead(line);
  const text = Object.fromEntries(BATCH_TABLES.map((table) => [table, ''])) as Record<BatchTable, string>;
  const rows = Object.fromEntries(BATCH_TABLES.map((table) => [table, head.rows[table] ?? 0])) as Record<
    BatchTable,
    number
  >;
  let at = 0;
  for (const [table, n] of Object.entries(head.lengths)) {
    if (n > 0) text[table as BatchTable] = texts.slice(at, at + n);
    at += n;
  }
  if (at !== texts.length) throw new UnreadableClaimError(`texts are ${texts.length} long, the head says ${at}`);
  const rowCount = BATCH_TABLES.reduce((sum, table) => (table === 'ledger' ? sum : sum + rows[table]), 0);
  return { text, rows, rowCount, bytes: at };
}

/** A batch as its group claims it: its identity and its claimBody, made when the batch arrived. */
export interface Claim {
  key: BatchKey;
  claim: string;
}

/** Claims `members` for the group `token` (retried under the same deduplication token). */
export function insertClaims(
  client: ClickHouseClient,
  token: string,
  members: readonly Claim[],
  at: number,
): Promise<void> {
  return insertRows(
    client,
    'claims',
    members.map((m) => [m.key.node, m.key.epoch, m.key.seq, token, at, m.claim]),
    token,
  );
}

/**
 * Marks the group's refused batches (a marker row each in the claims, `refused:<group>`, never an
 * owner), once the group's data inserts have all ended and before its ledger rows. A group that
 * stored some batches and refused others has the stored ones in the ledger and the refused ones
 * not: without the marks, another ingester finishing the group for a resent refused batch took the
 * batches not in the ledger for the whole group, so it inserted them under another token than the
 * group's, and the refused batch's rows in the tables that had taken them went in twice.
 */
export function insertRefusals(
  client: ClickHouseClient,
  token: string,
  keys: readonly BatchKey[],
  at: number,
): Promise<void> {
  const marker = REFUSED + token;
  return insertRows(
    client,
    'claims',
    keys.map((k) => [k.node, k.epoch, k.seq, marker, at, '']),
    marker,
  );
}

export interface KeyState {
  /** Batches in the ledger: stored. */
  stored: Set<string>;
  /** For the others: the group that claimed each first. */
  owner: Map<string, string>;
}

/**
 * The claim check's statement over `set`, the subquery of the keys (keySet): a row
 * per key in the ledger with no owner, and per other key claimed the group that claimed it first.
 */
function keyStatesQuery(set: string): string {
  return `SELECT NodeName, Epoch, Seq, '' AS Owner FROM ${TABLES.ledger} WHERE (NodeName, Epoch, Seq) IN (${set})
      UNION ALL
      SELECT NodeName, Epoch, Seq, argMin(GroupToken, _block_number) FROM ${TABLES.claims}
      WHERE (NodeName, Epoch, Seq) IN (${set}) AND NOT startsWith(GroupToken, '${REFUSED}')
      GROUP BY NodeName, Epoch, Seq`;
}

/** Where each of `keys` stands: in the ledger, or claimed first by which group (absent: neither). */
export async function keyStates(client: ClickHouseClient, keys: readonly BatchKey[]): Promise<KeyState> {
  const rs = await client.query({ query: keyStatesQuery(keySet(keys)), format: 'JSONCompactEachRow' });
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

/** A claim whose body this version cannot read (UnreadableClaimError), and why. */
export interface Unreadable {
  key: BatchKey;
  reason: string;
}

/** What group `token` has left to store, as ownedBy reads it. */
export interface Owned {
  members: Member[];
  unreadable: Unreadable[];
  /**
   * Every member is marked refused by the group (insertRefusals): it ended its inserts and its
   * ledger holds the rest, so nothing is left to store, and these were refused.
   */
  refusedAll: boolean;
}

/**
 * The batches group `token` claimed and owns (claimed first) and that are not in the ledger, with
 * their texts: what that group stores, as it leaves out what its claim check found stored (a group
 * claims before it looks, so it may own a batch stored before the claims' TTL took the first claim).
 * Claims this version cannot read come back apart, in `unreadable`: the group is then not this
 * ingester's to finish (its token covers every member, so a part of it cannot be stored alone).
 */
export async function ownedBy(client: ClickHouseClient, token: string): Promise<Owned> {
  const mine = `SELECT NodeName, Epoch, Seq FROM ${TABLES.claims} WHERE GroupToken = {token:String}`;
  const rs = await client.query({
    query: `SELECT NodeName, Epoch, Seq, anyIf(Body, GroupToken = {token:String}) AS Body,
        countIf(GroupToken = {marker:String}) > 0 AS Refused
      FROM ${TABLES.claims}
      WHERE (NodeName, Epoch, Seq) IN (${mine})
        AND (NodeName, Epoch, Seq) NOT IN (SELECT NodeName, Epoch, Seq FROM ${TABLES.ledger} WHERE (NodeName, Epoch, Seq) IN (${mine}))
      GROUP BY NodeName, Epoch, Seq
      HAVING argMinIf(GroupToken, _block_number, NOT startsWith(GroupToken, '${REFUSED}')) = {token:String}`,
    query_params: { token, marker: REFUSED + token },
    format: 'JSONCompactEachRow',
  });
  const rows = await rs.json<[string, number | string, number | string, string, boolean | number]>();
  const owned: Owned = { members: [], unreadable: [], refusedAll: rows.length > 0 };
  for (const [node, epoch, seq, body, refused] of rows) {
    const key = { node, epoch: Number(epoch), seq: Number(seq) };
    if (!refused) owned.refusedAll = false;
    try {
      owned.members.push({ key, ...parseClaimBody(body) });
    } catch (err) {
      if (!(err instanceof UnreadableClaimError)) throw err;
      owned.unreadable.push({ key, reason: err.message });
    }
  }
  return owned;
}
