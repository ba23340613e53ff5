/**
 * ingester.rows_per_s: rows per second through the ingester's whole path into embedded
 * ClickHouse: decode (zstd + validation), node check, coalescing writer, ledger lookup, inserts
 * with deduplication tokens, ledger insert, ack encoding. The broker hop is left out (a publish
 * function counts the acks) so the figure is the ingester's own capacity.
 *
 * Baseline in the same run: the same rows (batchToRows of the same batches, under other node
 * names) inserted straight with the client, JSONCompactEachRow, in the same chunk size, into the
 * same tables (so the hourly rollup view runs for both). ingester.ratio_vs_raw_insert =
 * ingester / raw (target >= 0.5).
 *
 * ingester.engine_only_rows_per_s, also in the same run: the same rows again as text encoded
 * beforehand, through the ingester's own insert call (insertText: settings in the INSERT), so that
 * only the engine's work is timed: the ceiling of that call (exec with the text as the body).
 *
 * ingester.http_rows_per_s (issue 21): the same path with ClickHouse reached as in production,
 * over its HTTP interface (the test server: the embedded engine in a process of its own), against
 * ingester.rows_per_s measured alternately in the same run on the embedded engine. The CPU of the
 * ingester's process and of the server's are reported apart.
 *
 * Batches: the protocol's realistic sample (30 containers x 12 metrics with sketches from the NAB
 * machine-temperature series, 100 logs and 50 templates from Loghub OpenSSH lines), one per node.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createBatchCodec, topics, type Batch } from '@edge-telemetry/protocol';
import { sampleBatch, seededRng } from '@edge-telemetry/protocol/testing';
import {
  batchToRows,
  COLUMNS,
  createClickHouseClient,
  createIngester,
  createWriter,
  insertText,
  listNodes,
  metricSeries,
  migrate,
  resolveConfig,
  rowsToText,
  TABLES,
  unboundedReads,
} from '@edge-telemetry/ingester';
import mqtt from 'mqtt';
import type { ClickHouseClient } from '@clickhouse/client';
import { spawnClickHouseHttp } from '../test/support/clickhouse-http/spawn.js';
import { startMosquitto } from '../test/support/mosquitto.js';
import { routerRig } from '../test/support/router.js';
import { waitFor } from '../test/support/wait.js';
import { median, type BenchCase, type Figure } from './harness.js';
import { realLinesAndValues } from './support/real-inputs.js';
import { cpuSeconds } from './support/proc.js';

const NODES = 200;
const RUNS = 3;
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

function batches(run: number, prefix = 'bench'): Batch[] {
  const { lines, values } = realLinesAndValues();
  // Recent windows: rows older than the retention TTL would be dropped at insert.
  const windowStart = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
  const rng = seededRng(11);
  return Array.from({ length: NODES }, (_, i) => ({
    ...sampleBatch(rng, { lines, values }, undefined, windowStart),
    node: `${prefix}-${run}-${i}`,
    epoch: 1,
    seq: 1,
  }));
}

/** This process' CPU seconds (JavaScript, and the engine when it is embedded) since `since`. */
const cpuSince = (since: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
};

/**
 * The batches through the ingester's whole path (router -> writer -> ClickHouse -> ack) on
 * `client`: rows per second and this process' CPU seconds.
 */
async function throughIngester(
  client: ClickHouseClient,
  writerOptions: ReturnType<typeof resolveConfig>['writer'],
  bs: readonly Batch[],
): Promise<{ rowsPerS: number; cpuS: number }> {
  const codec = createBatchCodec();
  const payloads = bs.map((b) => ({ topic: topics.batch(b.node), bytes: codec.encode(b) }));
  const meta = { receivedAt: Date.now(), wireBytes: 0, ingesterId: 'bench' };
  const rows = bs.reduce((n, b) => n + batchToRows(b, meta).rowCount, 0);
  const writer = createWriter({ client, options: writerOptions, logger: quiet });
  let acked = 0;
  let allAcked!: () => void;
  const done = new Promise<void>((r) => (allAcked = r));
  const { router } = routerRig(client, {
    writer,
    logger: quiet,
    ingesterId: 'bench',
    publish: async () => void (++acked === bs.length && allAcked()),
  });
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (const p of payloads) await router.handle(p.topic, p.bytes);
  await done;
  const rowsPerS = rows / (Number(process.hrtime.bigint() - t0) / 1e9);
  const cpuS = cpuSince(cpu0);
  await writer.close();
  const rejected = router.counters().rejected;
  if (Object.keys(rejected).length > 0) throw new Error(`bench batches rejected: ${JSON.stringify(rejected)}`);
  return { rowsPerS, cpuS };
}

const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0;

export const benches: BenchCase[] = [
  {
    name: 'ingester.rows_per_s',
    async run(): Promise<Figure[]> {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'et-bench-ingester-'));
      const client = createClickHouseClient({ dataDir: dir });
      try {
        const cfg = resolveConfig({ writer: { flushRows: 50_000, flushIntervalMs: 200 } }, {});
        await migrate(client, { retention: cfg.retention });
        const tables = ['metrics', 'logs', 'templates', 'events', 'containers', 'health', 'drops'] as const;
        const ours: number[] = [];
        const raw: number[] = [];
        const engine: number[] = [];
        // Process CPU (JavaScript and the in-process engine) per run: steadier than wall time when
        // other work shares the two cores.
        const cpuOurs: number[] = [];
        const cpuRaw: number[] = [];
        let rowsPerRun = 0;
        for (let run = 0; run < RUNS; run++) {
          const bs = batches(run);
          const meta = { receivedAt: Date.now(), wireBytes: 0, ingesterId: 'bench' };
          const rows = batches(run, 'raw').map((b) => batchToRows(b, meta));
          rowsPerRun = rows.reduce((n, r) => n + r.rowCount, 0);

          // Baseline: the same rows, client.insert in chunks of flushRows per table.
          const cpu0 = process.cpuUsage();
          let t0 = process.hrtime.bigint();
          for (const t of tables) {
            const all = rows.flatMap((r) => r.rows[t]);
            for (let i = 0; i < all.length; i += cfg.writer.flushRows) {
              await client.insert({
                table: TABLES[t],
                columns: [...COLUMNS[t]],
                values: all.slice(i, i + cfg.writer.flushRows),
                format: 'JSONCompactEachRow',
                clickhouse_settings: { insert_deduplication_token: '' },
              });
            }
          }
          raw.push(rowsPerRun / (Number(process.hrtime.bigint() - t0) / 1e9));
          cpuRaw.push(cpuSince(cpu0));

          // Engine only: the same rows (under a third set of node names) as ready text.
          const texts = batches(run, 'engine')
            .map((b) => batchToRows(b, meta))
            .reduce(
              (acc, r) => {
                for (const t of tables) acc[t].push(...r.rows[t]);
                return acc;
              },
              Object.fromEntries(tables.map((t) => [t, [] as unknown[][]])) as Record<
                (typeof tables)[number],
                unknown[][]
              >,
            );
          const chunks = tables.flatMap((t) => {
            const out: Array<{ t: (typeof tables)[number]; text: string }> = [];
            for (let i = 0; i < texts[t].length; i += cfg.writer.flushRows)
              out.push({ t, text: rowsToText(texts[t].slice(i, i + cfg.writer.flushRows)) });
            return out;
          });
          t0 = process.hrtime.bigint();
          for (const c of chunks) await insertText(client, c.t, [c.text]);
          engine.push(rowsPerRun / (Number(process.hrtime.bigint() - t0) / 1e9));

          // Ours: every payload through router -> writer -> ClickHouse -> ack.
          const o = await throughIngester(client, cfg.writer, bs);
          ours.push(o.rowsPerS);
          cpuOurs.push(o.cpuS);
        }
        const value = median(ours);
        const baseline = median(raw);
        const note = `${NODES} batches x ${Math.round(rowsPerRun / NODES)} rows, flushRows 50000, embedded chdb, median of ${RUNS}, load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores; process CPU per run ${median(cpuOurs).toFixed(2)} s (raw insert ${median(cpuRaw).toFixed(2)} s)`;
        return [
          { name: 'ingester.rows_per_s', value, unit: 'rows/s', baseline, ratio: value / baseline, note },
          {
            name: 'ingester.ratio_vs_raw_insert',
            value: value / baseline,
            unit: 'ratio',
            note: 'ingester.rows_per_s / raw client insert of the same rows',
          },
          {
            name: 'ingester.engine_only_rows_per_s',
            value: median(engine),
            unit: 'rows/s',
            baseline: value,
            ratio: median(engine) / value,
            note: 'the same rows as text encoded beforehand, through the ingester insert call alone (the engine ceiling for this client); baseline ingester.rows_per_s',
          },
        ];
      } finally {
        await client.close();
        await rm(dir, { recursive: true, force: true });
      }
    },
  },
  {
    name: 'ingester.http_rows_per_s',
    async run(): Promise<Figure[]> {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'et-bench-ingester-http-'));
      const server = await spawnClickHouseHttp({ dataDir: path.join(dir, 'server'), databases: ['edge_telemetry'] });
      const embedded = createClickHouseClient({ dataDir: path.join(dir, 'embedded') });
      const http = createClickHouseClient({ url: server.urlFor({ database: 'edge_telemetry' }), dataDir: '' });
      try {
        const cfg = resolveConfig({ writer: { flushRows: 50_000, flushIntervalMs: 200 } }, {});
        for (const c of [embedded, http]) await migrate(c, { retention: cfg.retention });
        const runs = { embedded: [] as number[], http: [] as number[] };
        const cpu = { embedded: [] as number[], http: [] as number[], server: [] as number[] };
        let rowsPerBatch = 0;
        // Alternately, so that the load of the moment weighs on both alike.
        for (let run = 0; run < RUNS; run++) {
          const e = await throughIngester(embedded, cfg.writer, batches(run, 'embedded'));
          runs.embedded.push(e.rowsPerS);
          cpu.embedded.push(e.cpuS);
          const server0 = await cpuSeconds(server.pid);
          const bs = batches(run, 'http');
          rowsPerBatch = batchToRows(bs[0] as Batch, { receivedAt: 0, wireBytes: 0, ingesterId: '' }).rowCount;
          const h = await throughIngester(http, cfg.writer, bs);
          runs.http.push(h.rowsPerS);
          cpu.http.push(h.cpuS);
          cpu.server.push((await cpuSeconds(server.pid)) - server0);
        }
        const value = median(runs.http);
        const baseline = median(runs.embedded);
        return [
          {
            name: 'ingester.http_rows_per_s',
            value,
            unit: 'rows/s',
            baseline,
            ratio: value / baseline,
            note: `${NODES} batches x ${rowsPerBatch} rows through router, writer (claims, ledger, dedup tokens) and acks, to ClickHouse over HTTP (the test server: the embedded engine in its own process); baseline the same path on the embedded engine in this process, alternately, median of ${RUNS}, load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores. CPU per run: the ingester's process ${median(cpu.http).toFixed(2)} s and the server's ${median(cpu.server).toFixed(2)} s over HTTP, against ${median(cpu.embedded).toFixed(2)} s embedded (engine included)`,
          },
        ];
      } finally {
        await http.close();
        await embedded.close();
        await server.stop();
        await rm(dir, { recursive: true, force: true });
      }
    },
  },
  {
    /**
     * Publish-to-acknowledged latency (the ack is sent after the insert, so the batch is queryable by
     * then) with 1,000 simulated nodes against real Mosquitto, one ingester on embedded ClickHouse with
     * the default writer settings (group commit, flushes of a partial group at least `writer.flushIntervalMs` apart). Each node
     * sends one 10-container batch; the 1,000 sends are spread over 30 s (a 60 s window cadence
     * compressed 2x). Baselines in the same run: the broker's own QoS 1 round trip of the same
     * payloads, and the ingester's RSS when idle (the publisher shares the process).
     */
    name: 'ingester.latency',
    async run(): Promise<Figure[]> {
      const NODES_L = 1000;
      const SPREAD_MS = 30_000;
      const broker = await startMosquitto();
      const dir = await mkdtemp(path.join(os.tmpdir(), 'et-bench-latency-'));
      const client = createClickHouseClient({ dataDir: dir });
      const ingesterConfig = resolveConfig(
        {
          mqtt: { url: broker.url, clientId: 'bench-ingester' },
          http: { port: 0 },
          clickhouse: { dataDir: dir },
          logLevel: 'silent',
        },
        {},
      );
      const ingester = createIngester(ingesterConfig, { clickhouse: client });
      try {
        await ingester.start();
        const { lines, values } = realLinesAndValues();
        const rng = seededRng(5);
        const windowStart = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
        const shape = { containers: 10, metricsPerContainer: 12, logs: 20, templates: 10, samplesPerMetric: 6 };
        const codec = createBatchCodec();
        const encoded = Array.from({ length: NODES_L }, (_, i) => {
          const b = { ...sampleBatch(rng, { lines, values }, shape, windowStart), node: `lat-${i}`, epoch: 1, seq: 1 };
          return { node: b.node, bytes: codec.encode(b) };
        });
        const pub = await mqtt.connectAsync(broker.url, { clientId: 'bench-nodes' });
        const sentAt = new Map<string, number>();
        const latencies: number[] = [];
        const echo: number[] = [];
        let allDone!: () => void;
        const done = new Promise<void>((r) => (allDone = r));
        pub.on('message', (topic) => {
          const node = topic.split('/')[2] ?? '';
          const t0 = sentAt.get(node);
          if (t0 === undefined) return;
          sentAt.delete(node);
          (topic.startsWith('bench/') ? echo : latencies).push(performance.now() - t0);
          if (latencies.length === NODES_L) allDone();
        });
        // Baseline: broker round trip of the same payloads (QoS 1 there and back).
        await pub.subscribeAsync('bench/echo/+', { qos: 1 });
        for (const e of encoded.slice(0, 200)) {
          sentAt.set(e.node, performance.now());
          await pub.publishAsync(`bench/echo/${e.node}`, e.bytes, { qos: 1 });
        }
        await waitFor('200 echoes', () => echo.length >= 200, { timeoutMs: 60_000, intervalMs: 10 });
        await pub.subscribeAsync('et/v1/+/down/ack', { qos: 1 });
        global.gc?.();
        const idleRss = process.memoryUsage().rss;
        let peakRss = idleRss;
        const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
        const t0 = performance.now();
        for (let i = 0; i < NODES_L; i++) {
          const e = encoded[i]!;
          const due = t0 + (i * SPREAD_MS) / NODES_L;
          const wait = due - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          sentAt.set(e.node, performance.now());
          void pub.publishAsync(`et/v1/${e.node}/up/batch`, e.bytes, { qos: 1 });
        }
        await Promise.race([done, new Promise((r) => setTimeout(r, 60_000))]);
        clearInterval(sampler);
        await pub.endAsync();
        if (latencies.length < NODES_L)
          throw new Error(`only ${latencies.length} of ${NODES_L} batches acknowledged within 60 s`);
        const p50 = quantile(latencies, 0.5);
        const p99 = quantile(latencies, 0.99);
        const e50 = quantile(echo, 0.5);
        const e99 = quantile(echo, 0.99);
        const note = `${NODES_L} nodes, 1 batch each (${Math.round(encoded.reduce((n, e) => n + e.bytes.length, 0) / NODES_L)} B, 10 containers) over ${SPREAD_MS / 1000} s, Mosquitto, embedded chdb, flushIntervalMs ${ingesterConfig.writer.flushIntervalMs}, load average ${os.loadavg()[0]!.toFixed(1)}`;
        return [
          {
            name: 'ingester.latency_p50_ms',
            value: p50,
            unit: 'ms',
            baseline: e50,
            ratio: p50 / e50,
            note: `${note}; baseline = broker QoS 1 round trip`,
          },
          {
            name: 'ingester.latency_p99_ms',
            value: p99,
            unit: 'ms',
            baseline: e99,
            ratio: p99 / e99,
            note: 'target < 2000 ms; baseline = broker QoS 1 round trip',
          },
          {
            name: 'ingester.rss_mib',
            value: peakRss / 2 ** 20,
            unit: 'MiB',
            baseline: idleRss / 2 ** 20,
            ratio: peakRss / idleRss,
            note: 'peak RSS under the load above (publisher in the same process); baseline = idle after start',
          },
        ];
      } finally {
        await ingester.stop();
        await client.close();
        await broker.stop();
        await rm(dir, { recursive: true, force: true });
      }
    },
  },
  {
    /**
     * API latency on a fleet's worth of metric summaries: 200 nodes x 30 containers x 6 metrics x
     * 1,440 one-minute windows (24 h) = 51.8M rows, generated inside ClickHouse (INSERT ... SELECT
     * FROM numbers(), which also feeds the hourly rollup). ET_BENCH_API_ROWS scales it down for a quick
     * run. Each query runs through the fastify app (inject: routing, schema validation,
     * serialization); baseline = the same query function called directly in the same run.
     */
    name: 'ingester.api',
    async run(): Promise<Figure[]> {
      const rows = Number(process.env.ET_BENCH_API_ROWS ?? 200 * 30 * 6 * 1440);
      const REPS = 25;
      const dir = await mkdtemp(path.join(os.tmpdir(), 'et-bench-api-'));
      const client = createClickHouseClient({ dataDir: dir });
      try {
        const cfg = resolveConfig(undefined, {});
        await migrate(client, { retention: cfg.retention });
        const end = Math.floor(Date.now() / 60_000) * 60_000;
        await client.command({
          query: `INSERT INTO ${TABLES.metrics} SELECT
            concat('node-', toString(intDiv(number, 30 * 6 * 1440) % 200)), concat('svc-', toString(intDiv(number, 6 * 1440) % 30)),
            ['cpu.usage_pct', 'mem.usage_bytes', 'net.rx_bytes_per_s', 'net.tx_bytes_per_s', 'blkio.read_bytes_per_s', 'pids.current'][intDiv(number, 1440) % 6 + 1],
            fromUnixTimestamp64Milli(toInt64(${end} - (1440 - number % 1440) * 60000)), fromUnixTimestamp64Milli(toInt64(${end} - (1439 - number % 1440) * 60000)),
            6, 6 * (number % 97), number % 97, number % 97 + 3, number % 97 + 1, 0, 0, 0, 200 + (number % 97), [1, 2, 2, 1], 0, []
            FROM numbers(${rows})`,
          clickhouse_settings: { insert_deduplication_token: '' },
        });
        await client.command({ query: `OPTIMIZE TABLE ${TABLES.metricsHourly} FINAL` });
        // The whole API as the ingester serves it, token check included (never started: no broker).
        const token = 'bench-api-admin-token-0123456789abcdef';
        const ingester = createIngester(resolveConfig({ auth: { adminToken: token }, logLevel: 'silent' }, {}), {
          clickhouse: client,
        });
        const app = ingester.app;
        await app.ready();
        const hour = { from: end - 3_600_000, to: end };
        const day = { from: end - 86_400_000, to: end };
        const direct = unboundedReads(client);
        const cases: { name: string; url: string; direct: () => Promise<unknown> }[] = [
          {
            name: 'metrics_1h',
            url: `/api/v1/nodes/node-7/metrics?container=svc-3&metric=cpu.usage_pct&from=${hour.from}&to=${hour.to}&step=60`,
            direct: () =>
              metricSeries(direct, {
                node: 'node-7',
                container: 'svc-3',
                metric: 'cpu.usage_pct',
                ...hour,
                stepS: 60,
                maxRows: 100_000,
              }),
          },
          {
            name: 'metrics_24h',
            url: `/api/v1/nodes/node-7/metrics?container=svc-3&from=${day.from}&to=${day.to}&step=3600`,
            direct: () =>
              metricSeries(direct, { node: 'node-7', container: 'svc-3', ...day, stepS: 3600, maxRows: 100_000 }),
          },
          { name: 'nodes', url: '/api/v1/nodes', direct: () => listNodes(direct, Date.now(), cfg.onlineWindowS) },
        ];
        const figures: Figure[] = [];
        for (const c of cases) {
          const api: number[] = [];
          const direct: number[] = [];
          for (let i = 0; i < REPS; i++) {
            let t0 = performance.now();
            const res = await app.inject({ method: 'GET', url: c.url, headers: { authorization: `Bearer ${token}` } });
            if (res.statusCode !== 200) throw new Error(`${c.url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
            api.push(performance.now() - t0);
            t0 = performance.now();
            await c.direct();
            direct.push(performance.now() - t0);
          }
          const note = `${(rows / 1e6).toFixed(1)}M metric-summary rows (24 h), embedded chdb, ${REPS} reps, load average ${os.loadavg()[0]!.toFixed(1)}; baseline = same query without HTTP`;
          for (const q of [0.5, 0.99]) {
            const v = quantile(api, q);
            const b = quantile(direct, q);
            figures.push({
              name: `ingester.api_${c.name}_p${q * 100}_ms`,
              value: v,
              unit: 'ms',
              baseline: b,
              ratio: v / b,
              note,
            });
          }
        }
        await ingester.stop();
        return figures;
      } finally {
        await client.close();
        await rm(dir, { recursive: true, force: true });
      }
    },
  },
];
