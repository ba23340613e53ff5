import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../config/load.js';
import { createClickHouseClient } from './client.js';
import { currentTtlDays, migrate } from './migrate.js';
import { MIGRATIONS } from './migrations/index.js';
import { TABLES } from './tables.js';

describe('migrations on embedded ClickHouse', () => {
  let dir: string;
  let client: ClickHouseClient;
  const retention = resolveConfig(undefined, {}).retention;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'et-migrate-'));
    client = createClickHouseClient({ dataDir: dir });
  });
  afterAll(async () => {
    await client.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies every version once, and a second run is a no-op', async () => {
    const first = await migrate(client, { retention });
    expect(first.applied).toEqual(MIGRATIONS.map((m) => m.version));
    const tables = await (
      await client.query({
        query: 'SELECT name FROM system.tables WHERE database = currentDatabase()',
        format: 'JSONEachRow',
      })
    ).json<{ name: string }>();
    for (const t of Object.values(TABLES)) expect(tables.map((r) => r.name)).toContain(t);

    const second = await migrate(client, { retention });
    expect(second).toEqual({ applied: [], retentionChanged: [] });
    const recorded = await (
      await client.query({ query: `SELECT count() AS n FROM ${TABLES.migrations}`, format: 'JSONEachRow' })
    ).json<{ n: string | number }>();
    expect(Number(recorded[0]?.n)).toBe(MIGRATIONS.length);
  });

  it('changes a table TTL when the configured retention changes', async () => {
    const changed = await migrate(client, { retention: { ...retention, logsDays: retention.logsDays + 3 } });
    expect(changed.applied).toEqual([]);
    expect(changed.retentionChanged).toEqual([TABLES.logs, TABLES.templates, TABLES.events]);
    expect((await currentTtlDays(client)).get(TABLES.logs)).toBe(retention.logsDays + 3);
  });
});
