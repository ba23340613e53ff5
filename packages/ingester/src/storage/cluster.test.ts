import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../config/load.js';
import { createClickHouseClient } from './client.js';
import { MIGRATIONS_TABLE_DDL, renderStatements } from './migrate.js';
import { renderForCluster } from './cluster.js';
import { MIGRATIONS } from './migrations/index.js';

describe('cluster DDL', () => {
  let dir: string;
  let client: ClickHouseClient;
  const ctx = { retention: resolveConfig(undefined, {}).retention, cluster: 'et_cluster' };
  const statements = [
    ...renderForCluster(MIGRATIONS_TABLE_DDL, ctx.cluster),
    ...MIGRATIONS.flatMap((m) => renderStatements(m, ctx)),
  ];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'et-cluster-ddl-'));
    client = createClickHouseClient({ dataDir: dir });
  });
  afterAll(async () => {
    await client.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("every statement parses with ClickHouse's own parser", async () => {
    for (const q of statements) {
      const rs = await client.query({
        query: 'SELECT formatQuery({q:String}) AS f',
        query_params: { q },
        format: 'JSONEachRow',
      });
      const [row] = await rs.json<{ f: string }>();
      // Backfills run once through the Distributed tables; everything else is DDL on every replica.
      if (/^\s*INSERT/.test(q)) expect(row?.f).not.toContain('_local');
      else expect(row?.f).toContain('ON CLUSTER et_cluster');
    }
  });

  it('creates replicated local tables, distributed tables sharded by node, and views over local tables', () => {
    const plainTables = MIGRATIONS.flatMap((m) => m.statements(ctx)).filter((s) => /CREATE TABLE/.test(s)).length;
    expect(
      statements.filter((s) =>
        /ENGINE = Replicated(Replacing|Aggregating)?MergeTree\('\/clickhouse\/tables\/\{shard\}/.test(s),
      ),
    ).toHaveLength(plainTables + 1);
    const metricsDist = statements.find((s) =>
      s.startsWith('CREATE TABLE IF NOT EXISTS et_metric_summaries ON CLUSTER'),
    );
    expect(metricsDist).toContain(
      "Distributed('et_cluster', currentDatabase(), et_metric_summaries_local, cityHash64(NodeName))",
    );
    const view = statements.find((s) => s.includes('MATERIALIZED VIEW'));
    expect(view).toContain('TO et_metric_summaries_1h_local');
    expect(view).toContain('FROM et_metric_summaries_local AS src');
    expect(statements.filter((s) => s.includes('MATERIALIZED VIEW')).at(-1)).toContain(
      'CREATE MATERIALIZED VIEW IF NOT EXISTS et_metric_summaries_hourly_mv_local ON CLUSTER',
    );
    expect(statements).toContain("DROP VIEW IF EXISTS et_metric_summaries_1h_mv_local ON CLUSTER 'et_cluster'");
    expect(statements).toContain("DROP TABLE IF EXISTS et_metric_summaries_1h ON CLUSTER 'et_cluster'");
    expect(statements).toContain("DROP TABLE IF EXISTS et_metric_summaries_1h_local ON CLUSTER 'et_cluster'");
    // A sorting key lives in the local tables only: the Distributed table gets the column alone.
    const keyed = statements.filter((s) => s.startsWith('ALTER TABLE et_metric_summaries_hourly'));
    expect(keyed[0]).toMatch(
      /^ALTER TABLE et_metric_summaries_hourly_local ON CLUSTER .* MODIFY ORDER BY \(.*Attributes\)$/,
    );
    expect(keyed[1]).toMatch(
      /^ALTER TABLE et_metric_summaries_hourly ON CLUSTER .*ADD COLUMN IF NOT EXISTS Attributes Map\(LowCardinality\(String\), String\)$/,
    );
    expect(statements.find((s) => s.includes('et_containers_local') && s.includes('Replicated'))).toMatch(
      /ReplicatedReplacingMergeTree\('[^']+', '\{replica\}', SeenAt\)/,
    );
  });
});
