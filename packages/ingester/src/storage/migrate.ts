/**
 * Applies the versioned migrations at start-up: each version once, recorded in
 * schema_migrations; then brings every table's retention TTL in line with the configuration.
 * Running it again is a no-op.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { IngesterError } from '../errors.js';
import type { RetentionConfig } from './retention.js';
import { MIGRATIONS, type Migration, type MigrationContext } from './migrations/index.js';
import { TABLES } from './tables.js';
import { renderForCluster } from './cluster.js';
import { sqlString } from './insert.js';

export interface MigrateResult {
  /** Versions applied by this call. */
  applied: number[];
  /** Tables whose TTL was changed by this call. */
  retentionChanged: string[];
}

/** Which configured retention governs which table, and the time column its TTL reads. */
const RETENTION: readonly { table: string; column: string; key: keyof RetentionConfig }[] = [
  { table: TABLES.metrics, column: 'StartTimeUnix', key: 'metricsDays' },
  { table: TABLES.metricsHourly, column: 'StartTimeUnix', key: 'rollupDays' },
  { table: TABLES.spans, column: 'StartTimeUnix', key: 'metricsDays' },
  { table: TABLES.logs, column: 'Timestamp', key: 'logsDays' },
  { table: TABLES.templates, column: 'LastSeen', key: 'logsDays' },
  { table: TABLES.events, column: 'Timestamp', key: 'logsDays' },
  { table: TABLES.containers, column: 'SeenAt', key: 'ledgerDays' },
  { table: TABLES.health, column: 'Timestamp', key: 'ledgerDays' },
  { table: TABLES.drops, column: 'Timestamp', key: 'ledgerDays' },
  { table: TABLES.status, column: 'ReceivedAt', key: 'ledgerDays' },
  { table: TABLES.ledger, column: 'ReceivedAt', key: 'ledgerDays' },
  { table: TABLES.deadLetters, column: 'ReceivedAt', key: 'deadLetterDays' },
  { table: TABLES.references, column: 'StoredAt', key: 'referencesDays' },
];

/** The statements of one migration as they are run: plain, or rendered for a cluster. */
export function renderStatements(m: Migration, ctx: MigrationContext): string[] {
  const plain = m.statements(ctx);
  return ctx.cluster ? plain.flatMap((s) => renderForCluster(s, ctx.cluster as string)) : plain;
}

export const MIGRATIONS_TABLE_DDL = `CREATE TABLE IF NOT EXISTS ${TABLES.migrations} (Version UInt32, Name String, AppliedAt DateTime64(3)) ENGINE = ReplacingMergeTree ORDER BY Version`;

async function appliedVersions(client: ClickHouseClient, cluster: string | undefined): Promise<Set<number>> {
  for (const query of cluster ? renderForCluster(MIGRATIONS_TABLE_DDL, cluster) : [MIGRATIONS_TABLE_DDL])
    await client.command({ query });
  const rs = await client.query({ query: `SELECT DISTINCT Version FROM ${TABLES.migrations}`, format: 'JSONEachRow' });
  const rows = await rs.json<{ Version: number | string }>();
  return new Set(rows.map((r) => Number(r.Version)));
}

/** The TTL days currently in a table's definition, or undefined when it has none. */
export async function currentTtlDays(client: ClickHouseClient): Promise<Map<string, number>> {
  const rs = await client.query({
    query: `SELECT name, create_table_query FROM system.tables WHERE database = currentDatabase() AND name LIKE 'et\\_%'`,
    format: 'JSONEachRow',
  });
  const out = new Map<string, number>();
  for (const row of await rs.json<{ name: string; create_table_query: string }>()) {
    const m = /TTL .*?(?:toIntervalDay\((\d+)\)|INTERVAL (\d+) DAY)/.exec(row.create_table_query);
    if (m) out.set(row.name, Number(m[1] ?? m[2]));
  }
  return out;
}

export async function migrate(
  client: ClickHouseClient,
  ctx: MigrationContext,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrateResult> {
  const applied: number[] = [];
  const done = await appliedVersions(client, ctx.cluster);
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(m.version)) continue;
    try {
      for (const query of renderStatements(m, ctx)) await client.command({ query });
      await client.insert({
        table: TABLES.migrations,
        values: [[m.version, m.name, Date.now()]],
        format: 'JSONCompactEachRow',
        // See insert.ts: a token left on the embedded session must not swallow this row.
        clickhouse_settings: { insert_deduplication_token: '' },
      });
    } catch (err) {
      throw new IngesterError('ET_ERR_MIGRATION_FAILED', `version ${m.version} (${m.name}): ${(err as Error).message}`);
    }
    applied.push(m.version);
  }
  const ttl = await currentTtlDays(client);
  const retentionChanged: string[] = [];
  for (const r of RETENTION) {
    const want = ctx.retention[r.key];
    // In cluster mode the TTL lives on the local (replicated) tables.
    const target = ctx.cluster ? `${r.table}_local ON CLUSTER ${sqlString(ctx.cluster)}` : r.table;
    const have = ttl.get(ctx.cluster ? `${r.table}_local` : r.table);
    // Every table here is created with a TTL; one missing is not created by the versions run (an upgrade test's partial list).
    if (have === undefined || have === want) continue;
    // Metadata only: existing parts age out by the new rule as they are merged or dropped.
    await client.command({
      query: `ALTER TABLE ${target} MODIFY TTL toDateTime(${r.column}) + INTERVAL ${want} DAY`,
      clickhouse_settings: { materialize_ttl_after_modify: 0 },
    });
    retentionChanged.push(r.table);
  }
  return { applied, retentionChanged };
}
