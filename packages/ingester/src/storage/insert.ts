/**
 * Every insert goes through here. The embedded connection applies per-query settings as session
 * `SET`s that outlive the query, so a deduplication token left by one insert would silently drop
 * the next insert's rows; every insert therefore sets its own token ('' = none).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { COLUMNS, TABLES } from './tables.js';

export type InsertTable = keyof typeof COLUMNS;

export async function insertRows(client: ClickHouseClient, table: InsertTable, values: unknown[][], token = ''): Promise<void> {
  await client.insert({
    table: TABLES[table],
    columns: [...COLUMNS[table]],
    values,
    format: 'JSONCompactEachRow',
    clickhouse_settings: { insert_deduplication_token: token },
  });
}
