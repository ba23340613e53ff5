/**
 * Every insert goes through here, as JSONCompactEachRow text built before the insert (batch-text.ts
 * says why). Its settings are in the INSERT's own SETTINGS clause, not the client's
 * clickhouse_settings: the embedded connection applies those as session `SET`s that outlive the
 * query (a deduplication token left behind would silently drop another insert's rows), and the
 * `SET` prefix cost about a third more engine time per insert (measured with the ingester bench's
 * rows, bench/README.md).
 */
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import { COLUMNS, TABLES } from './tables.js';

export type InsertTable = keyof typeof COLUMNS;

const INSERT_FORMAT = 'JSONCompactEachRow';

/**
 * The metrics insert feeds the hourly rollup (migration 0006), an AggregatingMergeTree whose rows
 * the API aggregates at read time anyway; merging them inside each insert as well made that
 * insert about a quarter slower for nothing (one insert holds one row per series and hour).
 */
const TABLE_SETTINGS: Partial<Record<InsertTable, string>> = { metrics: ', optimize_on_insert = 0' };

/** A ClickHouse string literal. */
export const sqlString = (s: string): string => `'${s.replace(/['\\]/g, '\\$&')}'`;

/**
 * The rows as JSONCompactEachRow text, in the column order of tables.ts, ending in a newline (so
 * the texts of several batches follow one another in one body): one JSON.stringify of the whole
 * array, its brackets cut off, which leaves the rows separated by commas. ClickHouse's reader of
 * the format takes a comma (or a semicolon) between rows as well as white space
 * (JSONCompactEachRowFormatReader::skipRowBetweenDelimiter; storage/insert.test.ts holds the
 * engine to it). Issue 21: a JSON.stringify and a string per row, then a join, was the largest
 * single item of an ingester's CPU profile under a burst (16 % self time, besides the garbage it
 * left); one call per table and batch is about a quarter cheaper.
 */
export function rowsToText(rows: readonly (readonly unknown[])[]): string {
  return rows.length === 0 ? '' : `${JSON.stringify(rows).slice(1, -1)}\n`;
}

/**
 * Inserts ready text, given as chunks of whole lines. `exec` with a body rather than `insert`,
 * because `insert` would encode every row again: the client sends the chunks as they are.
 */
export async function insertText(
  client: ClickHouseClient,
  table: InsertTable,
  chunks: readonly string[],
  token = '',
): Promise<void> {
  const res = await client.exec({
    query: `INSERT INTO ${TABLES[table]} (${COLUMNS[table].join(', ')}) SETTINGS insert_deduplication_token = ${sqlString(token)}${TABLE_SETTINGS[table] ?? ''} FORMAT ${INSERT_FORMAT}`,
    // Strings in a byte-mode stream with utf8 as its encoding stay strings: the embedded
    // connection concatenates them without a round trip through Buffers.
    values: Readable.from(chunks, { objectMode: false, encoding: 'utf8' }),
  });
  // The response body is empty, but a server connection is reused only once it has been read.
  await finished(res.stream.resume());
}

export async function insertRows(
  client: ClickHouseClient,
  table: InsertTable,
  values: readonly (readonly unknown[])[],
  token = '',
): Promise<void> {
  await insertText(client, table, [rowsToText(values)], token);
}
