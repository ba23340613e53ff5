/**
 * The same ingester code on both engines: the embedded one (chdb in this process) and
 * ClickHouse's HTTP interface (the test server in its own process, a database of its own and a
 * password, as production's CLICKHOUSE_URL). Whatever differs between the two connections
 * (settings, formats, parameter escaping, errors) shows up as a difference here:
 * - the schema the migrations make, the ON CLUSTER statements as ClickHouse's parser reads them,
 *   and the TTL DDL a retention change runs;
 * - every row the writer stores from the same batches (with their deduplication tokens and
 *   settings), the hourly rollup included;
 * - every API answer over those rows, tokens and the audit trail.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createClickHouseClient,
  createIngester,
  createWriter,
  migrate,
  MIGRATIONS,
  resolveConfig,
  type Ingester,
} from '@edge-telemetry/ingester';
import { sampleBatch } from '../support/batches.js';
import { spawnClickHouseHttp, type ClickHouseHttpProcess } from '../support/clickhouse-http/spawn.js';
import { MIGRATIONS_TABLE_DDL, renderStatements } from '../../packages/ingester/src/storage/migrate.js';
import { renderForCluster } from '../../packages/ingester/src/storage/cluster.js';

const TOKEN = 'engine-parity-admin-token-0123456789abcdef';
/** Recent, inside every retention; fixed for the run so both engines get the same rows. */
const NOW = Math.floor(Date.now() / 60_000) * 60_000 - 30_000;
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

interface Engine {
  name: string;
  client: ClickHouseClient;
  ingester: Ingester;
}

let dir: string;
let server: ClickHouseHttpProcess;
const engines: Engine[] = [];

async function open(name: string, clickhouse: { url?: string; dataDir: string }): Promise<Engine> {
  const config = resolveConfig(
    {
      mqtt: { url: 'mqtt://127.0.0.1:1' },
      clickhouse,
      http: { port: 0 },
      logLevel: 'silent',
      auth: { adminToken: TOKEN, rateLimitPerSecond: 10_000, rateLimitBurst: 10_000 },
      // A log search answers what it found in reads.searchMs (2 s) with `partial: true`, and halves
      // its slices when one takes over sliceMs: the answers compared are the whole range's, not what
      // a loaded machine searched in time (a CI run saw the HTTP side stop 11 min short of `from`).
      reads: { searchMs: 600_000, sliceMs: 10_000 },
    },
    {},
  );
  const client = createClickHouseClient(clickhouse);
  await migrate(client, { retention: config.retention });
  const ingester = createIngester(config, { clickhouse: client });
  await ingester.app.ready();
  return { name, client, ingester };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'et-ch-parity-'));
  server = await spawnClickHouseHttp({
    dataDir: path.join(dir, 'server'),
    databases: ['edge_telemetry'],
    users: { edge_telemetry: 'pa:ss w/rd' },
  });
  engines.push(await open('embedded', { dataDir: path.join(dir, 'embedded') }));
  engines.push(
    await open('http', {
      url: server.urlFor({ user: 'edge_telemetry', password: 'pa:ss w/rd', database: 'edge_telemetry' }),
      dataDir: path.join(dir, 'unused'),
    }),
  );
}, 120_000);

afterAll(async () => {
  for (const e of engines) {
    await e.ingester.app.close();
    await e.client.close();
  }
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs `f` on both engines and expects the same answer, which it returns. */
async function same<T>(what: string, f: (e: Engine) => Promise<T>): Promise<T> {
  const [a, b] = [await f(engines[0] as Engine), await f(engines[1] as Engine)];
  expect(b, `${what}: http differs from embedded`).toEqual(a);
  return a;
}

const rowsOf = async (e: Engine, query: string, query_params?: Record<string, unknown>) =>
  (await (
    await e.client.query({ query, format: 'JSONEachRow', ...(query_params ? { query_params } : {}) })
  ).json<Record<string, unknown>>()) as Array<Record<string, unknown>>;

async function tables(e: Engine): Promise<Array<{ name: string; engine: string; ddl: string }>> {
  const rows = await rowsOf(
    e,
    "SELECT name, engine, create_table_query AS ddl FROM system.tables WHERE database = currentDatabase() AND name LIKE 'et\\\\_%' ORDER BY name",
  );
  // The database name is the only expected difference.
  return rows.map((r) => ({
    name: String(r.name),
    engine: String(r.engine),
    ddl: String(r.ddl).replace(/\b(default|edge_telemetry)\./g, '<db>.'),
  }));
}

describe('embedded and HTTP engines give the same results', () => {
  it('migrations make the same schema, and a retention change the same TTL DDL', async () => {
    await same('tables', tables);
    await same('versions', async (e) => rowsOf(e, 'SELECT DISTINCT Version FROM schema_migrations ORDER BY Version'));
    const retention = { ...resolveConfig(undefined, {}).retention, logsDays: 3, metricsDays: 10 };
    const changed = await same('retention change', (e) => migrate(e.client, { retention }));
    expect(changed.applied).toEqual([]);
    expect(changed.retentionChanged.length).toBeGreaterThan(0);
    const after = await same('tables after the TTL change', tables);
    expect(after.find((t) => t.name === 'et_logs')?.ddl).toMatch(/INTERVAL 3 DAY|toIntervalDay\(3\)/);
    await same('second run', (e) => migrate(e.client, { retention }));
  });

  it('reads the ON CLUSTER statements alike (parameters with quotes and newlines)', async () => {
    const ctx = { retention: resolveConfig(undefined, {}).retention, cluster: 'et_cluster' };
    const statements = [
      ...renderForCluster(MIGRATIONS_TABLE_DDL, ctx.cluster),
      ...MIGRATIONS.flatMap((m) => renderStatements(m, ctx)),
    ];
    const formatted = await same('formatQuery of the cluster DDL', async (e) => {
      const out: string[] = [];
      for (const q of statements)
        out.push(String((await rowsOf(e, 'SELECT formatQuery({q:String}) AS f', { q }))[0]?.f));
      return out;
    });
    expect(formatted.filter((f) => f.includes('ON CLUSTER et_cluster')).length).toBeGreaterThan(10);
  });

  it('the writer stores the same rows from the same batches', async () => {
    const batches = ['par-1', 'par-2'].flatMap((node) =>
      Array.from({ length: 6 }, (_, i) =>
        sampleBatch({ node, seq: i + 1, now: NOW - (5 - i) * 60_000, containers: 3, logs: 20 }),
      ),
    );
    // Text that JSON, URL and SQL escaping must all leave alone.
    batches[0]!.logs[0]!.message = `quote ' double " back \\ tab \t newline \n non-Latin Ωμέγα 漢字 \u0000 end`;
    await same('writer outcomes', async (e) => {
      const writer = createWriter({
        client: e.client,
        options: { ...resolveConfig(undefined, {}).writer, flushIntervalMs: 10 },
        logger: silent,
      });
      const meta = (i: number) => ({ receivedAt: NOW + i, wireBytes: 1000 + i, ingesterId: 'parity' });
      const first = await Promise.all(batches.map((b, i) => writer.submit(b, meta(i))));
      // Again: the ledger answers duplicate, nothing is stored twice.
      const again = await Promise.all(batches.slice(0, 3).map((b, i) => writer.submit(b, meta(i))));
      await writer.close();
      return [first, again];
    });
    for (const t of await tables(engines[0] as Engine)) {
      if (t.engine === 'MaterializedView') continue;
      const final = /Replacing|Aggregating|Collapsing|Summing/.test(t.engine) ? ' FINAL' : '';
      // A claim's time is the writer's clock at the flush; everything else must agree.
      const columns = t.name === 'et_batch_claims' ? '* EXCEPT ClaimedAt' : '*';
      const rows = await same(t.name, async (e) =>
        (await rowsOf(e, `SELECT ${columns} FROM ${t.name}${final}`)).map((r) => JSON.stringify(r)).sort(),
      );
      if (
        ['et_metric_summaries', 'et_logs', 'et_batches', 'et_metric_summaries_hourly', 'et_batch_claims'].includes(
          t.name,
        )
      )
        expect(rows.length, t.name).toBeGreaterThan(0);
    }
  });

  it('every API read answers the same', async () => {
    const from = NOW - 3_600_000;
    const to = NOW + 60_000;
    const range = `from=${from}&to=${to}`;
    const paths = [
      `/api/v1/nodes/par-1/metrics?${range}&step=60`,
      `/api/v1/nodes/par-1/metrics?${range}&step=3600`,
      `/api/v1/nodes/par-1/metrics?${range}&container=app-1&metric=mem.usage_bytes`,
      `/api/v1/nodes/par-2/logs?${range}&limit=50`,
      `/api/v1/nodes/par-1/logs?${range}&level=warn&q=${encodeURIComponent("quote ' double")}`,
      `/api/v1/nodes/par-1/templates?${range}`,
      `/api/v1/fleet?${range}`,
    ];
    for (const p of paths) {
      const body = await same(p, async (e) => {
        const res = await e.ingester.app.inject({
          method: 'GET',
          url: p,
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        return { status: res.statusCode, body: res.json() as unknown };
      });
      expect(body.status, p).toBe(200);
    }
    // Nodes: `online` and `lastSeen` depend on the clock at the call, the rest must agree.
    await same('nodes', async (e) => {
      const res = await e.ingester.app.inject({
        method: 'GET',
        url: '/api/v1/nodes',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      return (res.json() as Array<Record<string, unknown>>).map(({ online: _o, ...r }) => r);
    });
  });

  it('tokens and the audit trail work alike', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    await same('token lifecycle', async (e) => {
      const made = await e.ingester.app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        headers: { ...auth, 'content-type': 'application/json' },
        payload: { name: "viewer 'one'", role: 'viewer' },
      });
      const { id, token } = made.json() as { id: string; token: string };
      const asViewer = await e.ingester.app.inject({
        method: 'GET',
        url: '/api/v1/fleet',
        headers: { authorization: `Bearer ${token}` },
      });
      const forbidden = await e.ingester.app.inject({
        method: 'GET',
        url: '/api/v1/tokens',
        headers: { authorization: `Bearer ${token}` },
      });
      const revoked = await e.ingester.app.inject({ method: 'DELETE', url: `/api/v1/tokens/${id}`, headers: auth });
      const list = await e.ingester.app.inject({ method: 'GET', url: '/api/v1/tokens', headers: auth });
      return {
        statuses: [made.statusCode, asViewer.statusCode, forbidden.statusCode, revoked.statusCode],
        tokens: (list.json() as { tokens: Array<Record<string, unknown>> }).tokens.map((t) => [
          t.name,
          t.role,
          t.revokedAt !== undefined,
        ]),
      };
    });
    await same('audit', async (e) => {
      const res = await e.ingester.app.inject({ method: 'GET', url: '/api/v1/audit', headers: auth });
      return (res.json() as { entries: Array<Record<string, unknown>> }).entries.map((x) => [x.action, x.outcome]);
    });
  });
});
