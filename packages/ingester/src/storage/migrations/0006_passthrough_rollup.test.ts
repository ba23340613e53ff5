/**
 * Version 6 on an install that ran version 2 for a while: the raw table's retention has already
 * dropped its oldest day, more windows arrive after the upgrade, and the new rollup must answer
 * every hour exactly as the raw rows would (kept here in a reference copy of the raw table).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intIn, seededRng } from '@edge-telemetry/protocol/testing';
import { resolveConfig } from '../../config/load.js';
import { metricSeries } from '../../api/queries.js';
import { sketchQuantiles } from '../../api/quantiles.js';
import { createClickHouseClient } from '../client.js';
import { unboundedReads } from '../bounded-reads.js';
import { migrate } from '../migrate.js';
import { COLUMNS, TABLES } from '../tables.js';
import { HOURLY_V2 } from './0002_hourly_rollup.js';
import { MIGRATIONS } from './index.js';

const NODE = 'n-rollup';
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const WINDOW_MS = 10 * 60_000;
const REF = 'rollup_reference';

/** One raw window row per container x metric every 10 minutes over three days; quarters keep float sums exact. */
function windows(firstDay: number): unknown[][] {
  const rng = seededRng(7);
  const r = (n: number): number => intIn(rng, 0, n - 1);
  const out: unknown[][] = [];
  for (let start = firstDay; start < firstDay + 3 * DAY_MS; start += WINDOW_MS) {
    for (const container of ['app-0', 'app-1'])
      for (const metric of ['cpu.usage_pct', 'mem.usage_bytes']) {
        const min = r(400) / 4;
        const bins = (len: number) => Array.from({ length: len }, () => 1 + r(9));
        out.push([
          NODE,
          container,
          metric,
          start,
          start + WINDOW_MS,
          1 + r(20),
          r(4000) / 4,
          min,
          min + r(400) / 4,
          r(400) / 4,
          r(3),
          0,
          r(3),
          r(40) - 5,
          bins(1 + r(6)),
          r(10),
          bins(r(3)),
        ]);
      }
  }
  return out;
}

type SeriesPoint = Awaited<ReturnType<typeof metricSeries>>[number]['points'][number];
type RefRow = [
  string,
  string,
  number,
  number | string,
  number,
  number,
  number,
  number,
  number | string,
  number | string,
  [number[], (number | string)[]],
  [number[], (number | string)[]],
];

describe('migration 6: pass-through hourly rollup', () => {
  let dir: string;
  let client: ClickHouseClient;
  const retention = resolveConfig(undefined, {}).retention;
  const firstDay = Math.floor(Date.now() / DAY_MS) * DAY_MS - 2 * DAY_MS;
  const rows = windows(firstDay);
  // Today's windows alternate between before and after the upgrade, so hours mix backfilled and viewed rows.
  const today = (row: unknown[]) => (row[3] as number) >= firstDay + 2 * DAY_MS;
  const before = rows.filter((row, i) => !today(row) || i % 2 === 0);
  const after = rows.filter((row, i) => today(row) && i % 2 === 1);

  // optimize_on_insert = 0 keeps each window its own rollup row, as a merge-free reader may meet them.
  const insert = (table: string, values: unknown[][]) =>
    client.insert({
      table,
      // The columns of versions 1 to 10 (version 11 added Attributes).
      columns: COLUMNS.metrics.filter((c) => c !== 'Attributes') as [string, ...string[]],
      values,
      format: 'JSONCompactEachRow',
      clickhouse_settings: { insert_deduplication_token: '', optimize_on_insert: 0 },
    });
  const query = async <T>(sql: string) => (await client.query({ query: sql, format: 'JSONCompactEachRow' })).json<T>();

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'et-rollup-'));
    client = createClickHouseClient({ dataDir: dir });
    await migrate(
      client,
      { retention },
      MIGRATIONS.filter((m) => m.version <= 5),
    );
    await client.command({ query: `CREATE TABLE ${REF} AS ${TABLES.metrics}` });
    await insert(REF, rows);
    // Several inserts, so version 2's table holds several partial states per hour.
    for (let i = 0; i < before.length; i += 500) await insert(TABLES.metrics, before.slice(i, i + 500));
    // What retention does to the oldest day of the raw table; version 2's rollup still has it.
    await client.command({
      query: `ALTER TABLE ${TABLES.metrics} DROP PARTITION '${new Date(firstDay).toISOString().slice(0, 10)}'`,
    });
  });
  afterAll(async () => {
    await client.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('replaces the version-2 table and view, and a second run is a no-op', async () => {
    const upTo6 = MIGRATIONS.filter((m) => m.version <= 6);
    expect((await migrate(client, { retention }, upTo6)).applied).toEqual([6]);
    // Unmerged rows are what a reader meets after any insert: the query must aggregate them itself.
    await client.command({ query: `SYSTEM STOP MERGES ${TABLES.metricsHourly}` });
    await insert(TABLES.metrics, after);
    const countRollup = async () =>
      Number((await query<[number | string]>(`SELECT sum(Count) FROM ${TABLES.metricsHourly}`))[0]?.[0]);
    const counted = await countRollup();
    expect(counted).toBe(rows.reduce((n, row) => n + (row[5] as number), 0));

    expect(await migrate(client, { retention }, upTo6)).toEqual({ applied: [], retentionChanged: [] });
    expect(await countRollup()).toBe(counted);
    const names = (await query<[string]>(`SELECT name FROM system.tables WHERE database = currentDatabase()`)).map(
      ([n]) => n,
    );
    expect(names).toContain(`${TABLES.metricsHourly}_mv`);
    expect(names).not.toContain(HOURLY_V2);
    expect(names).not.toContain(`${HOURLY_V2}_mv`);
  });

  it('answers every hour as the raw rows do, before and after background merges (and after version 11)', async () => {
    // Version 11 adds the attributes to the rollup's key; the rows already there keep their hours.
    expect((await migrate(client, { retention })).applied).toEqual(
      MIGRATIONS.filter((m) => m.version > 6).map((m) => m.version),
    );
    const expected = await referenceSeries();
    expect(expected).toHaveLength(4 * 72);
    const range = { node: NODE, from: firstDay, to: firstDay + 3 * DAY_MS, stepS: 3600, maxRows: 100_000 };
    const flatten = (series: Awaited<ReturnType<typeof metricSeries>>) =>
      series.flatMap((s) => s.points.map((p) => ({ container: s.container, metric: s.metric, ...p })));
    expect(flatten(await metricSeries(unboundedReads(client), range))).toEqual(expected);
    expect(
      Number((await query<[number | string]>(`SELECT count() FROM ${TABLES.metricsHourly}`))[0]?.[0]),
    ).toBeGreaterThan(expected.length);
    await client.command({ query: `SYSTEM START MERGES ${TABLES.metricsHourly}` });
    await client.command({ query: `OPTIMIZE TABLE ${TABLES.metricsHourly} FINAL` });
    expect(Number((await query<[number | string]>(`SELECT count() FROM ${TABLES.metricsHourly}`))[0]?.[0])).toBe(
      expected.length,
    );
    expect(flatten(await metricSeries(unboundedReads(client), range))).toEqual(expected);
  });

  /** Hourly points computed from the reference copy of every raw row, the way the raw query reads them. */
  async function referenceSeries(): Promise<({ container: string; metric: string } & SeriesPoint)[]> {
    const data =
      await query<RefRow>(`SELECT ContainerName, MetricName, toUnixTimestamp(toStartOfHour(toDateTime(StartTimeUnix))) * 1000 AS t,
        sum(Count), sum(Sum), min(Min), max(Max), argMax(Last, TimeUnix), sum(Gaps), sum(SketchZeros),
        sumMap(arrayMap(i -> SketchOffset + i - 1, arrayEnumerate(SketchCounts)), SketchCounts),
        sumMap(arrayMap(i -> SketchNegOffset + i - 1, arrayEnumerate(SketchNegCounts)), SketchNegCounts)
      FROM ${REF} GROUP BY ContainerName, MetricName, t ORDER BY ContainerName, MetricName, t`);
    return data.map(([container, metric, t, count, sum, min, max, last, gaps, zeros, pos, neg]) => {
      const [p50, p95, p99] = sketchQuantiles(
        {
          zeros: Number(zeros),
          posIdx: pos[0],
          posCounts: pos[1].map(Number),
          negIdx: neg[0],
          negCounts: neg[1].map(Number),
        },
        [0.5, 0.95, 0.99],
      );
      const n = Number(count);
      return {
        container,
        metric,
        t: new Date(t).toISOString(),
        count: n,
        sum,
        min,
        max,
        avg: sum / n,
        last,
        gaps: Number(gaps),
        p50: p50 ?? null,
        p95: p95 ?? null,
        p99: p99 ?? null,
      };
    });
  }
});
