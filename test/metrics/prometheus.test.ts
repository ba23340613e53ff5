/**
 * Issue 9: the collector's and the ingester's /metrics are valid Prometheus exposition, checked by
 * Prometheus's own tools: `promtool check metrics` and a real Prometheus server scraping both on
 * loopback. Debian's `prometheus` package provides both; CI installs it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  buildCollector,
  createJsonLogger,
  loadCollectorConfig,
  type RunningCollector,
} from '@edge-telemetry/collector';
import { haveMosquitto } from '../support/mosquitto.js';
import { startPrometheusServer, type Exporter } from '../support/exporters.js';
import { startStack, type Stack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

function havePrometheus(): boolean {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.CI)
      throw new Error('promtool is not installed; CI must install it (apt-get install -y prometheus)');
    return false;
  }
}

describe.runIf(haveMosquitto() && havePrometheus())('Prometheus scrapes the collector and the ingester', () => {
  let dir: string;
  let stack: Stack;
  let ingesterUrl: string;
  let collector: RunningCollector;
  let prometheus: Exporter | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'et-prom-'));
    stack = await startStack({
      ingester: { mqtt: { clientId: 'prom-ingester' }, logLevel: 'warn' },
    });
    ingesterUrl = stack.api;
    const config = loadCollectorConfig([], {
      EDGE_TELEMETRY_NODE: 'prom-gw',
      EDGE_TELEMETRY_COLLECTOR_DATA_DIR: path.join(dir, 'collector'),
      EDGE_TELEMETRY_COLLECTOR_HTTP_PORT: '0',
      EDGE_TELEMETRY_COLLECTOR_SCRAPE_INTERVAL_MS: '200',
      EDGE_TELEMETRY_COLLECTOR_DOWNSAMPLE_WINDOW_MS: '1000',
      MQTT_URL: stack.broker.url,
    });
    collector = await buildCollector(config, createJsonLogger({ write: () => true }));
    await collector.collector.start();
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await collector?.stop();
    await stack?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('passes promtool check metrics on both endpoints', async () => {
    for (const url of [`${collector.httpUrl}/metrics`, `${ingesterUrl}/metrics`]) {
      const text = await waitFor(
        `metrics at ${url}`,
        async () => {
          const body = await (await fetch(url)).text();
          return body.includes('# TYPE') ? body : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 200 },
      );
      // promtool exits non-zero on errors and prints lint problems; both must be absent.
      const out = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(out.trim(), url).toBe('');
      // Every series says what it is (the OpenTelemetry exporter writes "description missing").
      expect(text.split('\n').filter((l) => l.startsWith('# HELP') && l.endsWith('description missing'))).toEqual([]);
    }
  });

  it('is scraped by a real Prometheus server on loopback', async () => {
    const target = (u: string) => new URL(u).host;
    prometheus = await startPrometheusServer(
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        'scrape_configs:',
        `  - job_name: collector`,
        `    static_configs: [{ targets: ['${target(collector.httpUrl ?? '')}'] }]`,
        `  - job_name: ingester`,
        `    static_configs: [{ targets: ['${target(ingesterUrl)}'] }]`,
      ].join('\n'),
    );
    const api = `http://127.0.0.1:${prometheus.port}/api/v1`;
    const query = async <T>(q: string) =>
      ((await (await fetch(`${api}/query?query=${q}`)).json()) as { data: { result: T[] } }).data.result;
    // Asked together, and again until both hold: a scrape that runs over its 1 s deadline on a
    // loaded machine makes `up` 0 and the target's series stale (an instant query then has none of
    // them) until the next one succeeds.
    const { up, series } = await waitFor(
      'both targets up in Prometheus, with the collector series',
      async () => {
        const up = new Map(
          (await query<{ metric: { job: string }; value: [number, string] }>('up')).map((r) => [
            r.metric.job,
            r.value[1],
          ]),
        );
        const series = await query<unknown>('collector_process_rss_bytes');
        return up.get('collector') === '1' && up.get('ingester') === '1' && series.length > 0
          ? { up, series }
          : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(up.size).toBe(2);
    expect(series.length).toBe(1);
  });

  it("gathers the store's and the uplink's figures once per /metrics collect", async () => {
    // Built, not started: no scrape or seal of its own asks them meanwhile.
    const idle = await buildCollector(
      loadCollectorConfig([], {
        EDGE_TELEMETRY_NODE: 'prom-idle-gw',
        EDGE_TELEMETRY_COLLECTOR_DATA_DIR: path.join(dir, 'idle'),
        EDGE_TELEMETRY_COLLECTOR_HTTP_PORT: '0',
        MQTT_URL: stack.broker.url,
      }),
      createJsonLogger({ write: () => true }),
    );
    try {
      const calls = { uplink: 0, store: 0 };
      const { uplink, store } = idle;
      if (!store) throw new Error('the full-log store is on by default');
      const uplinkStats = uplink.stats.bind(uplink);
      const storeStats = store.stats.bind(store);
      uplink.stats = () => (calls.uplink++, uplinkStats());
      store.stats = () => (calls.store++, storeStats());
      for (let i = 0; i < 3; i++) {
        const text = await (await fetch(`${idle.httpUrl}/metrics`)).text();
        expect(text).toMatch(/^collector_queue_bytes\{/m);
        expect(text).toMatch(/^collector_store_bytes\{/m);
      }
      expect(calls).toEqual({ uplink: 3, store: 3 });
    } finally {
      await idle.stop();
    }
  });
});
