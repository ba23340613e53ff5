/**
 * Issue 2's slice with real processes: Mosquitto from Debian, the ingester bin on each ClickHouse
 * engine (embedded, and over HTTP with CLICKHOUSE_URL as in production: engines.ts), the collector bin reading this machine's /proc and /sys/fs/cgroup. A batch the
 * collector publishes must be queryable through the API within seconds, and the collector must
 * receive its end-to-end ack (its outbox empties).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { decodeAck, topics } from '@edge-telemetry/protocol';
import { ENGINES, openEngine, type OpenedEngine } from '../support/engines.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { bins, runNode, startIngesterBin, type RunningProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

const NODE = 'e2e-gw-1';
const TOKEN = 'slice-test-admin-token-0123456789abcdef';
const auth = { headers: { authorization: `Bearer ${TOKEN}` } };

interface NodeRow {
  node: string;
  lastSeen: string;
  online: boolean;
  containers: number;
  uplinkBytes: number;
}

describe.runIf(haveMosquitto()).each(ENGINES)(
  'slice: collector -> Mosquitto -> ingester -> ClickHouse (%s) -> API',
  (engineName) => {
    let broker: Mosquitto;
    let dir: string;
    let engine: OpenedEngine;
    let ingester: RunningProcess;
    let collector: RunningProcess;
    let api: string;
    const acks: number[] = [];
    let watcher: mqtt.MqttClient;

    beforeAll(async () => {
      broker = await startMosquitto();
      dir = await mkdtemp(path.join(os.tmpdir(), 'et-e2e-'));
      engine = await openEngine(engineName, dir);
      await writeFile(
        path.join(dir, 'collector.json'),
        JSON.stringify({
          node: NODE,
          dataDir: path.join(dir, 'collector'),
          scrapeIntervalMs: 250,
          http: { port: 0 },
          downsample: { windowMs: 1000 },
          uplink: { mqtt: { url: broker.url, protocolVersion: 5 } },
        }),
      );
      // Watch the ack topic as a third party: the collector's own ack handling is checked through its outbox.
      watcher = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
      watcher.on('message', (_t, payload) => {
        const ack = decodeAck(payload);
        if (ack.ok) acks.push(...ack.value.seqs);
      });
      await watcher.subscribeAsync(topics.ack(NODE), { qos: 1 });

      ({ proc: ingester, api } = await startIngesterBin({
        dir,
        brokerUrl: broker.url,
        clientId: 'e2e-ingester',
        token: TOKEN,
        clickhouseUrl: engine.clickhouse.url,
        config: { writer: { flushIntervalMs: 100 } },
      }));
      collector = runNode(bins.collector, ['--config', path.join(dir, 'collector.json')]);
      await collector.waitFor(/collector started/);
      // Above its waits together (the ingester's API alone may take 120 s on a loaded machine).
    }, 300_000);

    afterAll(async () => {
      await collector?.stop();
      await ingester?.stop();
      await engine?.close();
      await watcher?.endAsync();
      await broker?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('lists the node with its containers and uplink bytes', async () => {
      const node = await waitFor(
        'the node in /api/v1/nodes',
        async () => {
          const rows = (await (await fetch(`${api}/api/v1/nodes`, auth)).json()) as NodeRow[];
          return rows.find((r) => r.node === NODE && r.uplinkBytes > 0);
        },
        { timeoutMs: 20_000, intervalMs: 200 },
      ).catch(async (err: Error) => {
        throw new Error(
          `${err.message}\nnodes: ${await (await fetch(`${api}/api/v1/nodes`, auth)).text()}\ningester:\n${ingester.output().slice(-3000)}\ncollector:\n${collector.output().slice(-3000)}`,
        );
      });
      expect(node.online).toBe(true);
      expect(Date.parse(node.lastSeen)).toBeGreaterThan(Date.now() - 60_000);
    });

    it('serves the real host metrics as a summary series at the requested step', async () => {
      const from = new Date(Date.now() - 10 * 60_000).toISOString();
      const series = await waitFor(
        'host memory points',
        async () => {
          const res = await fetch(
            `${api}/api/v1/nodes/${NODE}/metrics?container=&metric=mem.usage_bytes&from=${from}&step=1`,
            auth,
          );
          expect(res.status).toBe(200);
          const body = (await res.json()) as {
            step: number;
            series: Array<{
              container: string;
              metric: string;
              points: Array<{ min: number; max: number; count: number; p50: number | null }>;
            }>;
          };
          expect(body.step).toBe(1);
          const host = body.series.find((s) => s.container === '' && s.metric === 'mem.usage_bytes');
          return host && host.points.length > 0 ? host.points : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 200 },
      );
      const total = os.totalmem();
      for (const p of series) {
        expect(p.count).toBeGreaterThan(0);
        expect(p.min).toBeGreaterThan(0);
        expect(p.max).toBeLessThanOrEqual(total);
        expect(p.min).toBeLessThanOrEqual(p.max);
        // The quantile comes from the merged sketch: within its 1% relative error of the range.
        expect(p.p50).toBeGreaterThanOrEqual(p.min * 0.99);
        expect(p.p50).toBeLessThanOrEqual(p.max * 1.01);
      }
    });

    it('acknowledges end to end: the ack arrives and the collector drops the batch from its outbox', async () => {
      await waitFor('an ack on the ack topic', () => acks.length > 0, {
        timeoutMs: 20_000,
        intervalMs: 200,
      });
      const outbox = path.join(dir, 'collector', 'outbox');
      // Acked records leave the outbox: after a few windows at most the open segment holds anything.
      await waitFor(
        'the outbox to drain',
        async () => {
          const segs = (await readdir(outbox)).filter((f) => f.endsWith('.seg'));
          return segs.length <= 1;
        },
        { timeoutMs: 20_000, intervalMs: 200 },
      );
      expect(collector.output()).not.toMatch(/"level":"error"/);
    });
  },
);
