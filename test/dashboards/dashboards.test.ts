/**
 * Every SQL query in every provisioned Grafana dashboard (panels and template variables) runs on
 * the migrated schema in embedded ClickHouse, with Grafana's variables and the plugin's macros
 * expanded (macros.ts), against a node seeded through the ingester's own row transforms. Each
 * query must return rows: a query that parses but misses the data is as broken as one that fails.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchToRows, COLUMNS, createClickHouseClient, migrate, resolveConfig, TABLES } from '@edge-telemetry/ingester';
import { sampleBatch } from '../support/batches.js';
import { expandMacros, expandQuery, interpolateVariables, type VariableValues } from './macros.js';

const DIR = path.resolve('docker/grafana/dashboards');
const NODE = 'gw-dash-1';

interface Target {
  rawSql: string;
  datasource: { type: string; uid: string };
  format: number;
}
interface Panel {
  id: number;
  title: string;
  type: string;
  targets?: Target[];
  datasource?: { type: string; uid: string };
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; query: string; datasource: { uid: string }; multi: boolean }[] };
}

async function loadDashboards(): Promise<{ file: string; d: Dashboard }[]> {
  const files = (await readdir(DIR)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => ({ file, d: JSON.parse(await readFile(path.join(DIR, file), 'utf8')) as Dashboard })),
  );
}

/** Concrete values for every variable the dashboards use, as a user's selection would give them. */
const VARS: VariableValues = { node: NODE, container: ['app-0', 'app-1'], metric: 'cpu.usage_pct' };

describe('Grafana dashboards', () => {
  let dir: string;
  let client: ClickHouseClient;
  const now = Date.now();
  const range = { fromMs: now - 6 * 3_600_000, toMs: now + 60_000, intervalMs: 60_000 };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'et-dashboards-'));
    client = createClickHouseClient({ dataDir: dir });
    await migrate(client, { retention: resolveConfig({}, {}).retention });
    // Two batches a minute apart and one with a bandwidth budget, stored the way the writer stores them.
    for (const [seq, at] of [
      [1, now - 120_000],
      [2, now - 60_000],
      [4, now],
    ] as const) {
      const b = sampleBatch({ node: NODE, seq, now: at });
      const batch = seq === 4 ? { ...b, health: { ...b.health, budgetLeftBytes: 1_000_000, degradeLevel: 1 } } : b;
      const { rows } = batchToRows(batch, { receivedAt: at + 150, wireBytes: 1200, ingesterId: 'ingester-a' });
      for (const [table, values] of Object.entries(rows)) {
        if (values.length > 0) await insert(table as keyof typeof COLUMNS, values);
      }
    }
    await insert('status', [[NODE, 'online', now - 1000, now - 900, '0.1.0', '']]);
    await insert('deadLetters', [
      [
        now - 5000,
        `et/v1/${NODE}/up/batch`,
        NODE,
        'ET_ERR_BAD_FRAME',
        'frame magic mismatch',
        12,
        'AAAA',
        'ingester-a',
        '0'.repeat(64),
      ],
    ]);
  });

  afterAll(async () => {
    await client?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const insert = (table: keyof typeof COLUMNS, values: unknown[][]) =>
    client.insert({
      table: TABLES[table],
      columns: [...COLUMNS[table]],
      values,
      format: 'JSONCompactEachRow',
      clickhouse_settings: { insert_deduplication_token: '' },
    });

  const run = async (sql: string) =>
    (await client.query({ query: sql, format: 'JSONEachRow' })).json<Record<string, unknown>>();
  // 64-bit integers come back as strings from a server and as numbers from the embedded engine.
  const numeric = (row: Record<string, unknown> | undefined) =>
    Object.fromEntries(
      Object.entries(row ?? {}).map(([k, v]) => [
        k,
        typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v,
      ]),
    );

  it('are the four the issue names, each with a unique uid, on the provisioned ClickHouse data source', async () => {
    const all = await loadDashboards();
    expect(all.map((x) => x.file)).toEqual([
      'fleet-overview.json',
      'ingestion-health.json',
      'node-detail.json',
      'uplink-economy.json',
    ]);
    expect(new Set(all.map((x) => x.d.uid)).size).toBe(4);
    const provisioning = await readFile(path.resolve('docker/grafana/provisioning/datasources/clickhouse.yml'), 'utf8');
    expect(provisioning).toMatch(/uid: clickhouse/);
    for (const { file, d } of all) {
      expect(d.panels.length, file).toBeGreaterThan(3);
      for (const p of d.panels) {
        expect(p.targets?.length, `${file}: ${p.title}`).toBeGreaterThan(0);
        for (const t of p.targets ?? [])
          expect(t.datasource, `${file}: ${p.title}`).toEqual({
            type: 'grafana-clickhouse-datasource',
            uid: 'clickhouse',
          });
      }
      for (const v of d.templating.list) expect(v.datasource.uid).toBe('clickhouse');
      // Panels must not overlap on the grid.
      const cells = new Set<string>();
      for (const p of d.panels as (Panel & { gridPos: { x: number; y: number; w: number; h: number } })[]) {
        for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++)
          for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
            expect(cells.has(`${x},${y}`), `${file}: ${p.title} overlaps at ${x},${y}`).toBe(false);
            cells.add(`${x},${y}`);
          }
        expect(p.gridPos.x + p.gridPos.w, `${file}: ${p.title}`).toBeLessThanOrEqual(24);
      }
    }
  });

  it('every panel and variable query runs on the migrated schema and returns rows', async () => {
    const failures: string[] = [];
    let queries = 0;
    for (const { file, d } of await loadDashboards()) {
      const sqls = [
        ...d.templating.list.map((v) => ({ where: `${file} variable ${v.name}`, sql: v.query })),
        ...d.panels.flatMap((p) =>
          (p.targets ?? []).map((t) => ({ where: `${file} panel "${p.title}"`, sql: t.rawSql })),
        ),
      ];
      for (const { where, sql } of sqls) {
        queries++;
        const expanded = expandQuery(sql, VARS, range);
        expect(expanded, where).not.toMatch(/\$/);
        try {
          const rows = await run(expanded);
          if (rows.length === 0) failures.push(`${where}: no rows`);
        } catch (err) {
          failures.push(`${where}: ${(err as Error).message.split('\n')[0]}\n${expanded}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(queries).toBeGreaterThanOrEqual(40);
  });

  it('the fleet table and the uplink economy agree with what was seeded', async () => {
    const all = await loadDashboards();
    const panel = (file: string, title: string) =>
      all.find((x) => x.file === file)!.d.panels.find((p) => p.title === title)!.targets![0]!.rawSql;
    const [fleet] = await run(expandQuery(panel('fleet-overview.json', 'Nodes'), VARS, range));
    expect(numeric(fleet)).toMatchObject({
      node: NODE,
      state: 'online',
      batches: 3,
      uplink_bytes: 3 * 2048,
      raw_bytes: 3 * 40_960,
      saving: 20,
      dropped: 3 * 7,
    });
    const [byNode] = await run(expandQuery(panel('uplink-economy.json', 'By node'), VARS, range));
    expect(numeric(byNode)).toMatchObject({
      node: NODE,
      budget_left_bytes: 1_000_000,
      max_degrade_level: 1,
      wire_bytes: 3 * 1200,
    });
    // The seq gap (3 is missing between 1 and 4) is found.
    const [health] = await run(
      expandQuery(panel('ingestion-health.json', 'Per node: freshness, clock skew and sequence gaps'), VARS, range),
    );
    expect(numeric(health)).toMatchObject({ node: NODE, batches: 3, seq_gaps: 1 });
  });
});

describe('Grafana macro expansion', () => {
  const c = { fromMs: 1_700_000_000_123, toMs: 1_700_003_600_999, intervalMs: 30_000 };
  it('expands the plugin macros as the plugin does', () => {
    expect(expandMacros('WHERE $__timeFilter(t) AND x', c)).toBe(
      'WHERE t >= toDateTime(1700000000) AND t <= toDateTime(1700003600) AND x',
    );
    expect(expandMacros('$__timeFilter_ms(toDateTime64(t, 3))', c)).toBe(
      'toDateTime64(t, 3) >= fromUnixTimestamp64Milli(1700000000123) AND toDateTime64(t, 3) <= fromUnixTimestamp64Milli(1700003600999)',
    );
    expect(expandMacros('$__fromTime_ms $__toTime $__fromTime', c)).toBe(
      'fromUnixTimestamp64Milli(1700000000123) toDateTime(1700003600) toDateTime(1700000000)',
    );
    expect(expandMacros('$__timeInterval(ts) / $__interval_s', c)).toBe(
      'toStartOfInterval(toDateTime(ts), INTERVAL 30 second) / 30',
    );
    expect(expandMacros('$__dateFilter(d)', c)).toBe("d >= toDate('2023-11-14') AND d <= toDate('2023-11-14')");
    expect(expandMacros('$__interval_s', { ...c, intervalMs: 200 })).toBe('1');
    expect(expandMacros('$__unknown(x)', c)).toBe('$__unknown(x)');
  });

  it('interpolates variables in the formats the dashboards use', () => {
    expect(
      interpolateVariables('n = ${node:singlequote} AND c IN (${c:singlequote})', { node: "o'x", c: ['a', 'b'] }),
    ).toBe("n = 'o\\'x' AND c IN ('a','b')");
    expect(interpolateVariables('${c:sqlstring} $node ${node}', { node: 'n1', c: ["it's"] })).toBe("'it''s' n1 n1");
    expect(() => interpolateVariables('${missing}', {})).toThrow(/missing/);
  });
});
