/**
 * Issue 3 end to end: the collector's Docker source reads a replay engine on a unix socket (real
 * Engine API payloads), its summaries travel through Mosquitto into the ingester on embedded
 * ClickHouse, and come back through GET /api/v1/nodes/:node/metrics at the requested step; a
 * lifecycle event (OOM kill) from the engine's event stream reaches ClickHouse.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  buildCollector,
  createJsonLogger,
  loadCollectorConfig,
  type RunningCollector,
} from '@edge-telemetry/collector';
import { createClickHouseClient, createIngester, resolveConfig, TABLES, type Ingester } from '@edge-telemetry/ingester';
import {
  DOCKER_FIXTURES_DIR,
  loadStatsFixtures,
  startReplayServer,
  type ReplayServer,
} from '../../packages/collector/src/sources/docker/replay-server.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';

const NODE = 'replay-gw';
const WINDOW_MS = 2000;
const TOKEN = 'replay-test-admin-token-0123456789abcdef';
const auth = { headers: { authorization: `Bearer ${TOKEN}` } };

describe.runIf(haveMosquitto())('Docker replay -> collector -> ClickHouse -> API', () => {
  let dir: string;
  let broker: Mosquitto;
  let engine: ReplayServer;
  let ingester: Ingester;
  let api: string;
  let collector: RunningCollector;
  const clickhouse = () => client;
  let client: ReturnType<typeof createClickHouseClient>;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'et-replay-'));
    broker = await startMosquitto();
    engine = await startReplayServer(path.join(dir, 'docker.sock'), await loadStatsFixtures());
    client = createClickHouseClient({ dataDir: path.join(dir, 'ch') });
    ingester = createIngester(
      resolveConfig(
        {
          mqtt: { url: broker.url, clientId: 'replay-ingester' },
          // Any free port, bound at once; start() says which.
          http: { port: 0 },
          writer: { flushIntervalMs: 100 },
          auth: { adminToken: TOKEN },
          logLevel: 'warn',
        },
        {},
      ),
      { clickhouse: client },
    );
    api = (await ingester.start()).url;
    const config = loadCollectorConfig([], {
      EDGE_TELEMETRY_NODE: NODE,
      EDGE_TELEMETRY_COLLECTOR_DATA_DIR: path.join(dir, 'collector'),
      EDGE_TELEMETRY_COLLECTOR_SCRAPE_INTERVAL_MS: '500',
      EDGE_TELEMETRY_COLLECTOR_DOWNSAMPLE_WINDOW_MS: String(WINDOW_MS),
      EDGE_TELEMETRY_COLLECTOR_HTTP_PORT: '-1',
      EDGE_TELEMETRY_COLLECTOR_SOURCES_HOST_ENABLED: 'false',
      EDGE_TELEMETRY_COLLECTOR_SOURCES_CGROUP_ENABLED: 'false',
      EDGE_TELEMETRY_COLLECTOR_SOURCES_DOCKER_ENABLED: 'true',
      EDGE_TELEMETRY_COLLECTOR_SOURCES_DOCKER_SOCKET_PATH: engine.socketPath,
      MQTT_URL: broker.url,
    });
    collector = await buildCollector(config, createJsonLogger({ write: () => true }));
    await collector.collector.start();
  }, 90_000);

  afterAll(async () => {
    await collector?.stop();
    await ingester?.stop();
    await engine?.close();
    await broker?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("serves every replayed container's CPU and memory at the requested step", { timeout: 60_000 }, async () => {
    const from = new Date(Date.now() - 5 * 60_000).toISOString();
    const names = engine.containers.map((c) => c.name);
    let last = '';
    const series = await waitFor(
      'a memory series per replayed container',
      async () => {
        const body = (await (
          await fetch(`${api}/api/v1/nodes/${NODE}/metrics?metric=mem.usage_bytes&from=${from}&step=4`, auth)
        ).json()) as {
          step: number;
          series: Array<{ container: string; points: Array<{ t: string; count: number; min: number; max: number }> }>;
        };
        last = body.series.map((x) => `${x.container}:${x.points.length}`).join(' ');
        return body.series.length === names.length ? body : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; expected ${names.join(' ')}; got ${last}`);
    });
    expect(series.step).toBe(4);
    expect(series.series.map((s) => s.container).sort()).toEqual([...names].sort());
    for (const s of series.series) {
      for (const p of s.points) {
        expect(Date.parse(p.t) % 4000).toBe(0);
        expect(p.min).toBeGreaterThan(0);
        expect(p.max).toBeGreaterThanOrEqual(p.min);
      }
    }
    const cpu = (await (
      await fetch(`${api}/api/v1/nodes/${NODE}/metrics?metric=cpu.usage_pct&from=${from}&step=2`, auth)
    ).json()) as { series: unknown[] };
    expect(cpu.series.length).toBeGreaterThan(0);
  });

  it('lists the node with the raw bytes its summaries stand for', async () => {
    const node = await waitFor(
      'uplink and raw bytes for the node',
      async () => {
        const rows = (await (await fetch(`${api}/api/v1/nodes`, auth)).json()) as Array<{
          node: string;
          containers: string[];
          uplinkBytes: number;
          rawBytes: number;
          drops: number;
        }>;
        const n = rows.find((r) => r.node === NODE);
        return n && n.uplinkBytes > 0 && n.rawBytes > 0 ? n : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    expect(node.containers.sort()).toEqual(engine.containers.map((c) => c.name).sort());
    expect(node.drops).toBeGreaterThanOrEqual(0);
  });

  it('stores an OOM kill the engine reports on /events', async () => {
    const oom = (await readFile(path.join(DOCKER_FIXTURES_DIR, 'events.ndjson'), 'utf8'))
      .split('\n')
      .find((l) => l.includes('"Action":"oom"'));
    if (!oom) throw new Error('the events fixture has no oom line');
    const now = Date.now();
    const event = JSON.parse(oom) as { time: number; timeNano: number };
    event.time = Math.floor(now / 1000);
    event.timeNano = now * 1e6;
    await waitFor('the collector following /events', () => engine.eventClients() > 0, {
      timeoutMs: 20_000,
      intervalMs: 200,
    });
    engine.sendEvent(JSON.stringify(event));
    const row = await waitFor(
      'the oom event in ClickHouse',
      async () => {
        const r = await clickhouse().query({
          query: `SELECT EventKind, toUnixTimestamp64Milli(Timestamp) AS ts FROM ${TABLES.events} WHERE NodeName = {node:String} AND EventKind = 'oom'`,
          query_params: { node: NODE },
          format: 'JSONEachRow',
        });
        const rows = await r.json<{ EventKind: string; ts: string }>();
        return rows[0];
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    expect(row.EventKind).toBe('oom');
  });
});
