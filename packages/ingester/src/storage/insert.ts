/**
 * Every insert goes through here, as JSONCompactEachRow text built before the insert (batch-text.ts
 * says why). The embedded connection applies per-query settings as session `SET`s that outlive
 * the query, so a deduplication token left by one insert would silently drop the next insert's
 * rows; every insert therefore sets its own token ('' = none).
 */
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import { COLUMNS, TABLES } from './tables.js';

export type InsertTable = keyof typeof COLUMNS;

const INSERT_FORMAT = 'JSONCompactEachRow';

/**
 * One row per line, in the column order of tables.ts. Joined rather than concatenated: join makes
 * one flat string, where concatenation leaves a tree of small strings for the collector to trace
 * until the insert.
 */
export function rowsToText(rows: readonly (readonly unknown[])[]): string {
  return rows.length === 0 ? '' : rows.map((row) => JSON.stringify(row)).join('\n') + '\n';
}

/**
 * Inserts ready text, given as chunks of whole lines. `exec` with a body rather than `insert`,
 * because `insert` would encode every row again: the client sends the chunks as they are.
 */
export async function insertText(client: ClickHouseClient, table: InsertTable, chunks: readonly string[], token = ''): Promise<void> {
  const res = await client.exec({
    query: `INSERT INTO ${TABLES[table]} (${COLUMNS[table].join(', ')}) FORMAT ${INSERT_FORMAT}`,
    // Strings in a byte-mode stream with utf8 as its encoding stay strings: the embedded
    // connection concatenates them without a round trip through Buffers.
    values: Readable.from(chunks, { objectMode: false, encoding: 'utf8' }),
    clickhouse_settings: { insert_deduplication_token: token },
  });
  // The response body is empty, but a server connection is reused only once it has been read.
  await finished(res.stream.resume());
}

export async function insertRows(client: ClickHouseClient, table: InsertTable, values: readonly (readonly unknown[])[], token = ''): Promise<void> {
  await insertText(client, table, [rowsToText(values)], token);
}
